#pragma once
// AdamW (Loshchilov & Hutter, decoupled weight decay), as Megatron and MT-NLG train with it. Each parameter
// gets first and second moments m and v in its own dtype, so an f64 run is f64 end to end; the update itself
// is the backend's `adamw` op (ops.hpp), one call per parameter, so that parameters declared without weight
// decay (biases, norm gains) can be given weight_decay = 0.
//
// Recipe keys (declared in plugin.cpp, documented in README.md): lr, beta1, beta2, eps, weight_decay.
#include <vector>

#include "mtnlg/component.hpp"
#include "mtnlg/optimizer.hpp"

namespace mtnlg::optim {

class AdamWOptimizer final : public Optimizer {
 public:
  // args.params holds the validated keys lr, beta1, beta2, eps and weight_decay (the host fills in defaults;
  // a test that constructs the optimizer directly must set all five). Throws mtnlg::Error, naming the key and
  // its position in the recipe, for a value out of range.
  explicit AdamWOptimizer(const CreateArgs& args);

  struct Moments {
    Tensor m, v;
  };
  // One entry per attached parameter, in attach order (for tests and checkpoints).
  const std::vector<Moments>& moments() const { return moments_; }

 protected:
  void do_attach(Backend& backend, const std::vector<OptimizerParam>& params,
                 const std::vector<FlatBuffer>& flat) override;
  void do_step(Backend& backend, const OptimizerStep& step) override;
  double do_base_lr() const override { return lr_; }
  std::vector<OptimizerState> do_state() const override;

 private:
  double lr_, beta1_, beta2_, eps_, weight_decay_;
  std::vector<OptimizerParam> params_;
  std::vector<Moments> moments_;
};

}  // namespace mtnlg::optim
