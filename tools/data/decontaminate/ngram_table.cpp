#include "decontaminate/ngram_table.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::decontaminate {

namespace {

// Any odd 64-bit constant makes hash(w_0..w_{n-1}) = sum w_k * kBase^(n-1-k) (mod 2^64) a polynomial hash;
// prefix sums then give every window of every length in O(1).
constexpr std::uint64_t kBase = 0x9e3779b97f4a7c15ULL;

}  // namespace

NgramTable::NgramTable(std::size_t ngram, std::size_t min_ngram) : ngram_(ngram), min_ngram_(min_ngram) {
  MTNLG_CHECK(ngram >= 1, str("--ngram must be at least 1, got ", ngram));
  MTNLG_CHECK(min_ngram >= 1 && min_ngram <= ngram,
              str("--min-ngram must be between 1 and --ngram (", ngram, "), got ", min_ngram));
  power_.assign(ngram + 1, 1);
  for (std::size_t k = 1; k <= ngram; ++k) power_[k] = power_[k - 1] * kBase;
}

std::size_t NgramTable::add_text(std::string_view text, unsigned task) {
  split_words(text, scratch_words_);
  const std::size_t n = scratch_words_.size();
  if (n < min_ngram_) return n;
  if (n < ngram_) {
    insert(text, scratch_words_.data(), n, task);
    return n;
  }
  for (std::size_t i = 0; i + ngram_ <= n; ++i) insert(text, scratch_words_.data() + i, ngram_, task);
  return n;
}

void NgramTable::insert(std::string_view text, const Word* first, std::size_t count, unsigned task) {
  std::uint64_t h = 0;
  for (std::size_t k = 0; k < count; ++k) h = h * kBase + first[k].hash;
  const auto [it, fresh] = first_.try_emplace(h, static_cast<std::uint32_t>(ngrams_.size()));
  if (!fresh) {
    for (std::uint32_t id = it->second; id != UINT32_MAX; id = next_[id]) {
      if (ngrams_[id].length == count && same_words(text, first, ngrams_[id])) {
        ngrams_[id].tasks |= 1u << task;
        return;
      }
    }
  }
  // A new n-gram: first in its chain when fresh, else pushed in front of the colliding ones.
  const auto id = static_cast<std::uint32_t>(ngrams_.size());
  filter_.clear();  // rebuilt (larger) by the next find()
  next_.push_back(fresh ? UINT32_MAX : it->second);
  it->second = id;
  ngrams_.push_back({joined_words(text, first, count), count, 1u << task});
  if (std::find(lengths_.begin(), lengths_.end(), count) == lengths_.end()) {
    lengths_.push_back(count);
    std::sort(lengths_.begin(), lengths_.end());
  }
}

bool NgramTable::same_words(std::string_view text, const Word* first, const TaskNgram& ngram) const {
  const std::string& stored = ngram.words;
  std::size_t k = 0;
  std::string folded;
  for (std::size_t w = 0; w < ngram.length; ++w) {
    if (w > 0 && (k >= stored.size() || stored[k++] != ' ')) return false;
    folded.clear();
    append_folded(text, first[w], folded);
    if (stored.compare(k, folded.size(), folded) != 0) return false;
    k += folded.size();
  }
  return k == stored.size();
}

std::uint64_t NgramTable::window_hash(std::size_t first, std::size_t count) const {
  return prefix_[first + count] - prefix_[first] * power_[count];
}

void NgramTable::rebuild_filter() {
  // About 32 bits per n-gram: a window that is no n-gram passes with probability ~1/32.
  unsigned bits_log2 = 12;
  while ((std::size_t{1} << bits_log2) < 32 * first_.size() && bits_log2 < 34) ++bits_log2;
  filter_shift_ = 64 - bits_log2;
  filter_.assign((std::size_t{1} << bits_log2) / 64, 0);
  for (const auto& [hash, id] : first_) {
    const std::uint64_t bit = hash >> filter_shift_;
    filter_[bit >> 6] |= std::uint64_t{1} << (bit & 63);
  }
}

void NgramTable::find(std::string_view text, const std::vector<Word>& words, std::vector<Match>& out) {
  out.clear();
  if (ngrams_.empty() || words.size() < lengths_.front()) return;
  if (filter_.empty()) rebuild_filter();
  prefix_.resize(words.size() + 1);
  prefix_[0] = 0;
  for (std::size_t i = 0; i < words.size(); ++i) prefix_[i + 1] = prefix_[i] * kBase + words[i].hash;
  for (std::size_t i = 0; i < words.size(); ++i) {
    for (const std::size_t length : lengths_) {
      if (i + length > words.size()) break;
      const std::uint64_t hash = window_hash(i, length);
      if (!maybe(hash)) continue;
      const auto it = first_.find(hash);
      if (it == first_.end()) continue;
      for (std::uint32_t id = it->second; id != UINT32_MAX; id = next_[id]) {
        if (ngrams_[id].length == length && same_words(text, words.data() + i, ngrams_[id])) {
          out.push_back({words[i].begin, words[i + length - 1].end, id});
          break;  // n-grams in the table are distinct, so no other one in the chain is these words
        }
      }
    }
  }
}

void NgramTable::count_documents(const std::vector<Match>& matches, std::uint64_t document) {
  for (const Match& m : matches) {
    TaskNgram& ngram = ngrams_[m.ngram];
    if (ngram.last_document == document) continue;
    ngram.last_document = document;
    ++ngram.documents;
  }
}

}  // namespace mtnlg::data::decontaminate
