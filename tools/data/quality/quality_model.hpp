#pragma once
// The quality classifier: logistic regression over hashed n-gram features (features.hpp). score() is the
// probability that a document is high quality. Saved as JSON (README.md, "Model file"): a header with what
// feature extraction the weights assume and the format version, then the non-zero weights.
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "features.hpp"

namespace mtnlg::data::quality {

inline constexpr int kModelVersion = 1;
inline constexpr std::string_view kModelFormat = "mtnlg-quality-classifier";

struct QualityModel {
  std::uint32_t feature_count = 1u << 20;
  double bias = 0.0;
  std::vector<double> weights;      // dense, feature_count entries
  nlohmann::ordered_json training;  // how it was trained (options, counts, accuracies); informational

  double logit(const SparseFeatures& x) const;
  double score(const SparseFeatures& x) const;  // sigmoid(logit), computed without overflow
  double score(std::string_view text) const { return score(extract_features(text, feature_count)); }

  // Written atomically (io/atomic_output_file.hpp); the same model always gives the same bytes.
  void save(const std::filesystem::path& path) const;
  // Errors name the file and what is wrong: not JSON, not a model, another version, other feature hashing, a
  // weight index out of range or a weight that is not a finite number.
  static QualityModel load(const std::filesystem::path& path);
};

double sigmoid(double z);

}  // namespace mtnlg::data::quality
