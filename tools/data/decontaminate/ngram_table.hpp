#pragma once
// The task n-grams: every `ngram`-word window of every task text, and task texts of min_ngram..ngram-1 words
// whole (Megatron's filter_ngrams.py: short PiQA goals would otherwise never be caught). Texts shorter than
// min_ngram words are ignored. Documents are scanned with 64-bit polynomial hashes of their word windows;
// every hash hit is verified word by word, so a collision never removes text.
//
// The table also counts, per n-gram, the training documents it occurs in (the first pass), so the second pass
// can ignore n-grams common enough to be phrases rather than contamination.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decontaminate/words.hpp"

namespace mtnlg::data::decontaminate {

struct TaskNgram {
  std::string words;            // folded words joined by single spaces
  std::size_t length;           // in words
  std::uint32_t tasks = 0;      // bit t: task t of tasks::all_tasks() has this n-gram
  std::uint32_t documents = 0;  // training documents it occurs in (counted by count_documents)
  std::uint64_t last_document = ~std::uint64_t{0};
};

// One occurrence of a task n-gram in a document: the bytes from its first word's start to its last word's
// end.
struct Match {
  std::size_t begin;
  std::size_t end;
  std::uint32_t ngram;  // index into NgramTable::ngrams()
};

class NgramTable {
 public:
  NgramTable(std::size_t ngram, std::size_t min_ngram);

  // Adds the n-grams of one task text. Returns how many words it has (0..min_ngram-1: ignored).
  std::size_t add_text(std::string_view text, unsigned task);

  // The occurrences of table n-grams in a document whose words are `words` (split_words(text)), in order of
  // first word (and then of length). Not thread-safe: it reuses scratch space (and builds the filter once).
  void find(std::string_view text, const std::vector<Word>& words, std::vector<Match>& out);

  // Counts the document once for every n-gram among its matches.
  void count_documents(const std::vector<Match>& matches, std::uint64_t document);

  const std::vector<TaskNgram>& ngrams() const { return ngrams_; }
  std::size_t ngram() const { return ngram_; }

 private:
  void insert(std::string_view text, const Word* first, std::size_t count, unsigned task);
  std::uint64_t window_hash(std::size_t first, std::size_t count) const;
  bool same_words(std::string_view text, const Word* first, const TaskNgram& ngram) const;

  std::size_t ngram_;
  std::size_t min_ngram_;
  std::vector<TaskNgram> ngrams_;
  std::vector<std::uint32_t> next_;  // the next n-gram with the same hash (a chain; collisions are rare)
  std::unordered_map<std::uint64_t, std::uint32_t> first_;  // hash -> first n-gram with it
  std::vector<std::size_t> lengths_;                        // distinct n-gram lengths in the table
  std::vector<std::uint64_t> power_;                        // kBase^k for k = 0..ngram
  // One bit per hash prefix, set for every n-gram in the table: most document windows miss here, in a few MB
  // that stay in cache, and never reach first_ (hash-map lookups that miss cache dominated the scan).
  std::vector<std::uint64_t> filter_;
  unsigned filter_shift_ = 64;
  void rebuild_filter();
  bool maybe(std::uint64_t hash) const {
    const std::uint64_t bit = hash >> filter_shift_;
    return (filter_[bit >> 6] >> (bit & 63)) & 1;
  }
  std::vector<Word> scratch_words_;
  std::vector<std::uint64_t> prefix_;  // prefix_[i]: hash of words [0, i)
};

}  // namespace mtnlg::data::decontaminate
