#pragma once
// AdamW (Loshchilov & Hutter, decoupled weight decay), as Megatron and MT-NLG train with it. Each parameter
// gets first and second moments m and v in its own dtype, so an f64 run is f64 end to end; the update itself
// is the backend's `adamw` op (ops.hpp). Like Megatron's and apex's multi-tensor AdamW it queues few ops:
// when the parameters are views into the host's flat buffers, the moments are flat too, laid out alike, and
// one op updates each run of neighbouring parameters that share a weight-decay rule (flat_runs.hpp), since
// parameters declared without weight decay (biases, norm gains) need weight_decay = 0. AdamW is elementwise,
// so that gives the same bits as one op per parameter, which remains the way for parameters outside flat
// buffers.
//
// Recipe keys (declared in plugin.cpp, documented in README.md): lr, beta1, beta2, eps, weight_decay.
#include <vector>

#include "mtnlg/component.hpp"
#include "mtnlg/optimizer.hpp"

#include "flat_runs.hpp"

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
  // One entry per attached parameter, in attach order, of the parameter's shape (for tests and checkpoints);
  // views into the flat moments when the update is multi-tensor.
  const std::vector<Moments>& moments() const { return moments_; }

 protected:
  void do_attach(Backend& backend, const std::vector<OptimizerParam>& params,
                 const std::vector<FlatBuffer>& flat) override;
  void do_step(Backend& backend, const OptimizerStep& step) override;
  double do_base_lr() const override { return lr_; }
  std::vector<OptimizerState> do_state() const override;

 private:
  // What one `adamw` op of a step updates: a run of parameters (1-D slices of the flat buffers and moments)
  // or, in the per-parameter fallback, one parameter.
  struct Update {
    Tensor value, grad, m, v;
    bool weight_decay = true;
  };
  void attach_flat(Backend& backend, const std::vector<OptimizerParam>& params,
                   const std::vector<FlatBuffer>& flat, const std::vector<FlatPlace>& places);
  void attach_per_parameter(Backend& backend, const std::vector<OptimizerParam>& params);

  double lr_, beta1_, beta2_, eps_, weight_decay_;
  bool attached_ = false;
  std::vector<Moments> moments_;
  std::vector<Update> updates_;  // in attach order: the ops a step queues
};

}  // namespace mtnlg::optim
