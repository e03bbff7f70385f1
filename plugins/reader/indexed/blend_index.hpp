#pragma once
// Which dataset serves each sample of a blend, by Megatron's greedy error-minimising rule
// (megatron/core/datasets/helpers.cpp, build_blending_indices): sample i goes to the dataset d whose
// weight_d · max(i, 1) − (samples d has served so far) is largest (the first such d on ties), and is that
// dataset's next sample. Every prefix of the blend then has the weights' proportions to within one sample per
// dataset. The index grows on demand, so any sample can be asked for without knowing the run's length.
#include <cstdint>
#include <utility>
#include <vector>

namespace mtnlg::readers {

class BlendIndex {
 public:
  // Weights > 0, normalised here.
  explicit BlendIndex(std::vector<double> weights);

  // (dataset, that dataset's sample index) serving blended sample `sample`.
  std::pair<int, std::int64_t> at(std::int64_t sample);
  // Samples each dataset serves among the first `samples` of the blend.
  std::vector<std::int64_t> counts(std::int64_t samples);
  const std::vector<double>& weights() const { return weights_; }

 private:
  void extend_to(std::int64_t size);

  std::vector<double> weights_;
  std::vector<std::int64_t> served_;          // (datasets,) so far
  std::vector<std::int16_t> dataset_;         // (built,)
  std::vector<std::int64_t> dataset_sample_;  // (built,)
};

}  // namespace mtnlg::readers
