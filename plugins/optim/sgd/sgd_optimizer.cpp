// Stochastic gradient descent with optional momentum and weight decay, on the engine's parameter views.
//   buf = momentum · buf + g          (when momentum > 0)
//   θ  = θ · (1 − lr · wd) − lr · buf  (wd only for parameters whose spec asks for weight decay)
#include "mtnlg/mtnlg.hpp"

namespace mtnlg::optim {

class SgdOptimizer final : public Optimizer {
 public:
  explicit SgdOptimizer(const CreateArgs& args)
      : lr_(args.params.get_float("lr")),
        momentum_(args.params.get_float("momentum")),
        weight_decay_(args.params.get_float("weight_decay")) {
    MTNLG_CHECK(lr_ >= 0.0, str(args.params.where("lr"), ": optimizer.lr must be >= 0, got ", lr_));
    MTNLG_CHECK(
        momentum_ >= 0.0 && momentum_ < 1.0,
        str(args.params.where("momentum"), ": optimizer.momentum must be in [0, 1), got ", momentum_));
    MTNLG_CHECK(weight_decay_ >= 0.0, str(args.params.where("weight_decay"),
                                          ": optimizer.weight_decay must be >= 0, got ", weight_decay_));
  }

 protected:
  void do_attach(Backend& backend, const std::vector<OptimizerParam>& params,
                 const std::vector<FlatBuffer>&) override {
    params_ = params;
    if (momentum_ > 0.0) {
      for (const auto& p : params_) {
        Tensor buf = backend.empty(p.value.shape(), p.value.dtype());
        backend.run(ops::fill, ops::FillArgs{buf, 0.0});
        momentum_buffers_.push_back(buf);
      }
    }
  }

  void do_step(Backend& backend, const OptimizerStep& step) override {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const OptimizerParam& p = params_[i];
      Tensor direction = p.grad;
      if (momentum_ > 0.0) {
        backend.run(ops::scale, ops::ScaleArgs{momentum_buffers_[i], momentum_});
        backend.run(ops::axpy, ops::AxpyArgs{p.grad, momentum_buffers_[i], 1.0});
        direction = momentum_buffers_[i];
      }
      if (weight_decay_ > 0.0 && p.spec.weight_decay)
        backend.run(ops::scale, ops::ScaleArgs{p.value, 1.0 - step.lr * weight_decay_});
      backend.run(ops::axpy, ops::AxpyArgs{direction, p.value, -step.lr});
    }
  }

  double do_base_lr() const override { return lr_; }

  std::vector<OptimizerState> do_state() const override {
    std::vector<OptimizerState> out;
    for (std::size_t i = 0; i < momentum_buffers_.size(); ++i)
      out.push_back({i, "sgd.momentum", momentum_buffers_[i]});
    return out;
  }

 private:
  double lr_, momentum_, weight_decay_;
  std::vector<OptimizerParam> params_;
  std::vector<Tensor> momentum_buffers_;
};

const mtnlg_key_spec kSgdKeys[] = {
    {"lr", MTNLG_KEY_FLOAT, "0.01", "learning rate (the peak, when an LR schedule scales it)", nullptr},
    {"momentum", MTNLG_KEY_FLOAT, "0.0", "momentum factor in [0, 1); 0 disables the momentum buffer",
     nullptr},
    {"weight_decay", MTNLG_KEY_FLOAT, "0.0", "decoupled weight decay; skipped for biases and norm gains",
     nullptr},
};

}  // namespace mtnlg::optim

MTNLG_PLUGIN("optim-sgd", "0.1.0",
             mtnlg::component<mtnlg::optim::SgdOptimizer>("sgd",
                                                          "SGD with optional momentum and weight decay",
                                                          mtnlg::optim::kSgdKeys))
