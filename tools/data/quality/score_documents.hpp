#pragma once
// `quality score` and `quality filter`: the trained classifier applied to a JSON-lines file.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "io/bad_lines.hpp"
#include "quality_model.hpp"

namespace mtnlg::data::quality {

// Writes every input document with "quality_score" (the probability it is high quality) added as its last
// field (replacing one already there). Returns the number of documents. Bad lines are fatal, or skipped
// (not written) when `bad_lines` says so.
std::size_t score_documents(const QualityModel& model, const std::filesystem::path& input,
                            const std::filesystem::path& output, const std::string& key,
                            BadLines* bad_lines = nullptr);

enum class FilterRule { pareto, threshold };

struct FilterOptions {
  FilterRule rule = FilterRule::pareto;
  double alpha = 9.0;      // pareto: GPT-3's shape
  std::uint32_t seed = 0;  // pareto: as np.random.seed(seed)
  double threshold = 0.5;  // threshold: keep when score >= threshold
  std::string key = "text";
  std::optional<std::filesystem::path> scores;  // also write {"line", "quality_score", "kept"} per document
};

struct FilterReport {
  std::size_t kept = 0, total = 0;
};

// GPT-3's rule keeps a document when np.random.pareto(alpha) > 1 - score, one draw per document in input
// order (numpy_pareto.hpp); the threshold rule when score >= threshold. Kept documents are written exactly as
// they were read. Every output is written atomically.
FilterReport filter_documents(const QualityModel& model, const std::filesystem::path& input,
                              const std::filesystem::path& output, const FilterOptions& options,
                              BadLines* bad_lines = nullptr);

}  // namespace mtnlg::data::quality
