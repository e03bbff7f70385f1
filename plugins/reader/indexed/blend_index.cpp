#include "blend_index.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::readers {

BlendIndex::BlendIndex(std::vector<double> weights)
    : weights_(std::move(weights)), served_(weights_.size(), 0) {
  MTNLG_CHECK(!weights_.empty() && weights_.size() <= std::numeric_limits<std::int16_t>::max(),
              str("a blend needs 1 to 32767 datasets, got ", weights_.size()));
  for (double w : weights_) MTNLG_CHECK(w > 0.0, str("blend weights must be > 0, got ", w));
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (double& w : weights_) w /= total;
}

void BlendIndex::extend_to(std::int64_t size) {
  if (static_cast<std::int64_t>(dataset_.size()) >= size) return;
  const std::int64_t target = std::max<std::int64_t>(size, 2 * static_cast<std::int64_t>(dataset_.size()));
  for (std::int64_t i = static_cast<std::int64_t>(dataset_.size()); i < target; ++i) {
    const double position = std::max(static_cast<double>(i), 1.0);
    int best = 0;
    double best_error = -std::numeric_limits<double>::infinity();
    for (std::size_t d = 0; d < weights_.size(); ++d) {
      const double error = weights_[d] * position - static_cast<double>(served_[d]);
      if (error > best_error) best_error = error, best = static_cast<int>(d);
    }
    dataset_.push_back(static_cast<std::int16_t>(best));
    dataset_sample_.push_back(served_[best]++);
  }
}

std::pair<int, std::int64_t> BlendIndex::at(std::int64_t sample) {
  MTNLG_CHECK(sample >= 0, str("blend: sample ", sample, " is negative"));
  extend_to(sample + 1);
  return {dataset_[sample], dataset_sample_[sample]};
}

std::vector<std::int64_t> BlendIndex::counts(std::int64_t samples) {
  extend_to(samples);
  std::vector<std::int64_t> out(weights_.size(), 0);
  for (std::int64_t i = 0; i < samples; ++i) ++out[dataset_[i]];
  return out;
}

}  // namespace mtnlg::readers
