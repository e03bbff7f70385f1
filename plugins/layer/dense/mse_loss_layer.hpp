#pragma once
// Mean squared error loss: L = mean((x − t)²) over all n elements of the micro-batch. x and targets have the
// same number of elements; dL/dx = 2 (x − t) / n, times the micro-batch's loss weight.
#include "mtnlg/mtnlg.hpp"

namespace mtnlg::layers {

class MseLossLayer final : public Layer {
 public:
  explicit MseLossLayer(const CreateArgs&) {}

 protected:
  bool do_is_loss() const override { return true; }

  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override {
    MTNLG_CHECK(step.targets != nullptr && step.targets->numel() == x.numel(),
                str("mse_loss needs targets with as many elements as its input ", x.describe(), ", got ",
                    step.targets ? step.targets->describe() : std::string("none")));
    Tensor diff = step.backend.empty(x.shape(), x.dtype());
    step.backend.run(ops::copy, ops::CopyArgs{x, diff});
    step.backend.run(ops::axpy, ops::AxpyArgs{step.targets->reshape(x.shape()), diff, -1.0});
    Tensor loss = step.backend.empty({1}, x.dtype());
    step.backend.run(ops::squared_norm, ops::SquaredNormArgs{diff, loss});
    step.backend.run(ops::scale, ops::ScaleArgs{loss, 1.0 / static_cast<double>(x.numel())});
    saved.put("diff", diff);
    return loss;
  }

  Tensor do_backward(const LayerStep& step, const Tensor&, SavedState& saved) override {
    const Tensor& diff = saved.get("diff");
    Tensor dx = step.backend.empty(diff.shape(), diff.dtype());
    step.backend.run(ops::copy, ops::CopyArgs{diff, dx});
    step.backend.run(ops::scale,
                     ops::ScaleArgs{dx, 2.0 * step.loss_weight / static_cast<double>(diff.numel())});
    return dx;
  }
};

}  // namespace mtnlg::layers
