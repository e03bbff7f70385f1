#pragma once
// `mtnlg-data tokenize`: text in (JSON lines or plain text), a Megatron mmap indexed dataset out, with
// preprocess_data.py's vocabulary of options and its output naming (PREFIX_<key>_document.bin/.idx), so
// Megatron-LM reads what we write and recipes written for Megatron data work unchanged.
#include <filesystem>
#include <string>
#include <vector>

#include "io/bad_lines.hpp"
#include "progress_meter.hpp"

namespace mtnlg::data {

struct TokenizeOptions {
  std::filesystem::path
      input;  // .jsonl/.json or "-" (standard input): one JSON object per line; else plain text
  std::string output_prefix;
  std::vector<std::string> json_keys{"text"};
  bool append_eod = false;
  int workers = 1;
  std::filesystem::path vocab_dir;  // empty: the GPT-2 vocabulary shipped with mtnlg
  ProgressMode progress = ProgressMode::automatic;
  BadLinePolicy bad_lines = BadLinePolicy::fail;  // a progress line on stderr (auto: when it is a terminal)
};

struct TokenizeReport {
  std::size_t documents = 0;
  std::size_t tokens = 0;
  std::size_t bytes = 0;  // of text tokenized
  std::size_t bad_lines_skipped = 0;
  double seconds = 0.0;
  std::vector<std::filesystem::path> outputs;  // one prefix per key
};

// Plain text: documents are separated by blank lines. Streams: memory is bounded by one batch of documents,
// whatever the input size. Output is identical for any number of workers.
TokenizeReport tokenize(const TokenizeOptions& options);

}  // namespace mtnlg::data
