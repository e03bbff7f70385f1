#pragma once
// A JSON-lines corpus as feature vectors, for training.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "features.hpp"

namespace mtnlg::data::quality {

// Every document's field `key` (errors as FILE:LINE: message); error if the file has no documents.
std::vector<SparseFeatures> read_corpus(const std::filesystem::path& path, const std::string& key,
                                        std::uint32_t feature_count);

}  // namespace mtnlg::data::quality
