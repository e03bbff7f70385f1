#pragma once
// y = GeLU(x) elementwise (GPT-2's tanh approximation), any shape.
#include "mtnlg/mtnlg.hpp"

namespace mtnlg::layers {

class GeluLayer final : public Layer {
 public:
  explicit GeluLayer(const CreateArgs&) {}

 protected:
  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override {
    Tensor y = step.backend.empty(x.shape(), x.dtype());
    step.backend.run(ops::gelu, ops::GeluArgs{x, y});
    saved.put("x", x);
    return y;
  }
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override {
    Tensor dx = step.backend.empty(dy.shape(), dy.dtype());
    step.backend.run(ops::gelu_backward, ops::GeluBackwardArgs{saved.get("x"), dy, dx});
    return dx;
  }
};

}  // namespace mtnlg::layers
