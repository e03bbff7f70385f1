#pragma once
// LayerNorm over the hidden dimension: (..., C) -> (..., C), gain 1 and bias 0 at initialisation, neither
// weight-decayed. eps = 1e-5 (Megatron's default).
#include "model_dims.hpp"

namespace mtnlg::gpt {

class LayerNormLayer final : public Layer {
 public:
  explicit LayerNormLayer(const CreateArgs& args)
      : hidden_(args.recipe.find_path("model.hidden")->as_int()), eps_(args.params.get_float("eps")) {
    MTNLG_CHECK(eps_ > 0.0, str(args.params.where("eps"), ": layernorm eps must be > 0, got ", eps_));
  }

 protected:
  std::vector<ParamSpec> do_parameters() const override {
    return {{.name = "weight", .shape = {hidden_}, .init = InitSpec::constant(1.0), .weight_decay = false},
            {.name = "bias", .shape = {hidden_}, .weight_decay = false}};
  }

  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override {
    const Tensor x2 = x.reshape({-1, hidden_});  // (N, C)
    const std::int64_t n = x2.dim(0);
    Tensor out = step.backend.empty(x.shape(), x.dtype());
    Tensor mean = step.backend.empty({n}, x.dtype()), rstd = step.backend.empty({n}, x.dtype());
    step.backend.run(ops::layernorm,
                     ops::LayerNormArgs{x2, step.params.value("weight"), step.params.value("bias"),
                                        out.reshape({n, hidden_}), mean, rstd, eps_});
    saved.put("x", x2);
    saved.put("mean", mean);
    saved.put("rstd", rstd);
    return out;
  }

  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override {
    Tensor dx = step.backend.empty(dy.shape(), dy.dtype());
    step.backend.run(
        ops::layernorm_backward,
        ops::LayerNormBackwardArgs{dy.reshape({-1, hidden_}), saved.get("x"), step.params.value("weight"),
                                   saved.get("mean"), saved.get("rstd"), dx.reshape({-1, hidden_}),
                                   step.params.grad("weight"), step.params.grad("bias")});
    return dx;
  }

 private:
  std::int64_t hidden_;
  double eps_;
};

}  // namespace mtnlg::gpt
