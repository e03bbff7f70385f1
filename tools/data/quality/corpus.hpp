#pragma once
// A JSON-lines corpus as feature vectors, for training.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "features.hpp"
#include "io/bad_lines.hpp"

namespace mtnlg::data::quality {

// Every document's field `key` (errors as FILE:LINE: message; bad lines skipped when `bad_lines` says so);
// error if the file has no documents.
std::vector<SparseFeatures> read_corpus(const std::filesystem::path& path, const std::string& key,
                                        std::uint32_t feature_count, BadLines* bad_lines = nullptr);

}  // namespace mtnlg::data::quality
