#pragma once
// `mtnlg-data decontaminate`: removes evaluation-task text from a JSONL training corpus the way Megatron's
// tools/openwebtext/filter_ngrams.py does for MT-NLG (GPT-3's rules): task 13-grams (and whole 8-12 word task
// texts) found in a training document are cut out with 200 characters on each side, ending at sentence
// boundaries; the pieces left become documents. See README.md.
//
// Two streaming passes over the input: the first counts, per task n-gram, the training documents it occurs
// in (n-grams in max_ngram_docs or more documents are common phrases and are ignored); the second cuts and
// writes. Memory is the task n-gram table, not the corpus.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "decontaminate/cut.hpp"
#include "io/bad_lines.hpp"

namespace mtnlg::data::decontaminate {

struct TaskFile {
  std::string task;  // a name in tasks::all_tasks()
  std::filesystem::path path;
};

struct DecontaminateOptions {
  std::filesystem::path input;
  std::string json_key = "text";
  std::filesystem::path output;
  std::filesystem::path report;  // empty: none
  std::vector<TaskFile> tasks;
  std::size_t ngram = 13;
  std::size_t min_ngram = 8;
  std::size_t max_ngram_docs = 10;
  CutOptions cut;
  BadLinePolicy bad_lines = BadLinePolicy::fail;  // of the training corpus; a bad task line is always fatal
};

// "NAME=FILE" as --task takes it.
TaskFile parse_task_argument(const std::string& argument);

struct TaskSummary {
  std::string task;
  std::filesystem::path path;
  std::size_t examples = 0;
  std::size_t texts = 0;
  std::size_t short_texts = 0;  // fewer than min_ngram words: ignored
  std::size_t whole_texts = 0;  // min_ngram..ngram-1 words: matched whole
  std::size_t ngrams = 0;       // distinct n-grams of this task in the table
  std::size_t ngrams_matched = 0;
  std::size_t ngrams_ignored = 0;  // in max_ngram_docs or more training documents
};

struct DecontaminateSummary {
  std::vector<TaskSummary> tasks;  // per --task
  std::size_t ngrams = 0;          // distinct in the table
  std::size_t ngrams_ignored = 0;
  std::size_t documents_in = 0;
  std::size_t bad_lines_skipped = 0;  // --bad-lines skip: not documents, not written
  std::size_t documents_out = 0;      // output lines: untouched documents plus kept pieces
  std::size_t documents_untouched = 0;
  std::size_t documents_split = 0;  // with at least one kept piece
  std::size_t documents_dropped_splits = 0;
  std::size_t documents_dropped_short = 0;  // every piece too short
  std::size_t pieces_kept = 0;
  std::size_t pieces_dropped = 0;
  std::uint64_t bytes = 0;  // input size (read twice)
  double seconds = 0;       // all of it
  double scan_seconds = 0;  // the two passes, without reading the task files
};

DecontaminateSummary decontaminate(const DecontaminateOptions& options);

}  // namespace mtnlg::data::decontaminate
