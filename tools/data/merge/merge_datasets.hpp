#pragma once
// `mtnlg-data merge`: Megatron indexed datasets concatenated into one, documents in input order. The output
// is byte for byte what tokenizing the concatenated text would have written (the writer is the same), so data
// can be tokenized in shards, in parallel, and merged.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "mtnlg/dtype.hpp"

namespace mtnlg::data {

struct MergeInput {
  std::filesystem::path prefix;
  std::size_t documents = 0, tokens = 0;
};

struct MergeReport {
  std::vector<MergeInput> inputs;
  std::size_t documents = 0, tokens = 0;
  mtnlg::DType dtype = mtnlg::DType::u16;
};

// Every input is opened and checked before anything is written: all must hold the same token dtype (the error
// names both files), and every document must be one sequence (GPT data; the writer writes no other kind).
// The output (PREFIX.bin/.idx) appears only once it is complete.
MergeReport merge_datasets(const std::vector<std::filesystem::path>& inputs,
                           const std::filesystem::path& output_prefix);

}  // namespace mtnlg::data
