#pragma once
// `mtnlg-data inspect`: what is in a Megatron indexed dataset, for a person checking the data before
// training.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace mtnlg::data {

struct InspectOptions {
  std::filesystem::path prefix;
  std::optional<std::string> documents;  // "A:B" (half-open, as a Python slice), "A:", ":B" or "A"
  bool summary = false;                  // the summary, also when --documents is given
  bool tokens = false;                   // each listed document's token ids
  bool text = false;                     // each listed document decoded (GPT-2 BPE)
  std::filesystem::path vocab_dir;       // empty: the GPT-2 vocabulary shipped with mtnlg
};

struct DocumentRange {
  std::size_t begin = 0, end = 0;
};

// Parses --documents against a dataset of `count` documents; errors say what was expected and the valid
// range.
DocumentRange parse_document_range(const std::string& spec, std::size_t count);

// Writes the summary (when asked or when no range is), then one block per document of the range. Errors
// (mtnlg::Error) for a missing or corrupt dataset (IndexedDataset::open's messages) or a bad range.
void inspect_dataset(const InspectOptions& options, std::ostream& out);

}  // namespace mtnlg::data
