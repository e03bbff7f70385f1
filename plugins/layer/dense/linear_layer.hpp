#pragma once
// y = x · Wᵀ + b over the last dimension: x (..., in) -> y (..., out); W (out, in), b (out).
#include "mtnlg/mtnlg.hpp"

namespace mtnlg::layers {

class LinearLayer final : public Layer {
 public:
  explicit LinearLayer(const CreateArgs& args);

 protected:
  std::vector<ParamSpec> do_parameters() const override;
  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override;
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override;

 private:
  enum class Partition { none, column, row };
  std::int64_t in_, out_;
  bool bias_;
  double init_std_;
  Partition partition_ = Partition::none;
};

}  // namespace mtnlg::layers
