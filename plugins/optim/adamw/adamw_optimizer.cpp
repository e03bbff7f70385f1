#include "adamw_optimizer.hpp"

#include <optional>
#include <string>

#include "mtnlg/backend.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::optim {
namespace {

// "recipe.toml:12:3: optimizer.beta1 must be in [0, 1), got 1; ..." — where the value came from first, so the
// user can go straight to it (a default prints "(default)").
void check_key(const Table& params, const char* key, bool ok, const std::string& rule, double got) {
  if (ok) return;
  const Value* v = params.find(key);
  fail(str(v != nullptr ? v->pos.str() : std::string("(missing)"), ": optimizer.", key, " must be ", rule,
           ", got ", got));
}

}  // namespace

AdamWOptimizer::AdamWOptimizer(const CreateArgs& args)
    : lr_(args.params.get_float("lr")),
      beta1_(args.params.get_float("beta1")),
      beta2_(args.params.get_float("beta2")),
      eps_(args.params.get_float("eps")),
      weight_decay_(args.params.get_float("weight_decay")) {
  const Table& p = args.params;
  check_key(p, "lr", lr_ >= 0.0, ">= 0 (it is the peak learning rate)", lr_);
  // β = 1 would freeze the moment at its initial zero and make the bias correction divide by zero.
  check_key(p, "beta1", beta1_ >= 0.0 && beta1_ < 1.0, "in [0, 1) (MT-NLG: 0.9)", beta1_);
  check_key(p, "beta2", beta2_ >= 0.0 && beta2_ < 1.0, "in [0, 1) (MT-NLG: 0.95)", beta2_);
  // eps keeps m̂ / (√v̂ + eps) finite where a gradient has been exactly zero so far (v̂ = 0).
  check_key(p, "eps", eps_ > 0.0, "> 0 (MT-NLG: 1e-8)", eps_);
  check_key(p, "weight_decay", weight_decay_ >= 0.0, ">= 0 (MT-NLG: 0.1)", weight_decay_);
}

void AdamWOptimizer::do_attach(Backend& backend, const std::vector<OptimizerParam>& params,
                               const std::vector<FlatBuffer>& flat) {
  MTNLG_CHECK(!attached_, "adamw: attach called twice; the optimizer state belongs to one model");
  attached_ = true;
  for (const OptimizerParam& p : params) {
    const DType dtype = p.value.dtype();
    MTNLG_CHECK(
        dtype == DType::f32 || dtype == DType::f64,
        str("adamw: parameter '", p.name, "' is ", p.value.describe(),
            "; adamw keeps its moments in the parameter's dtype and supports f32 and f64 parameters"));
  }
  std::string why;
  if (const std::optional<std::vector<FlatPlace>> places = place_in_flat(params, flat, why)) {
    attach_flat(backend, params, flat, *places);
  } else {
    // Some parameter is not a view into the flat buffers (a caller that keeps parameters apart, or lays out
    // values and gradients differently): flat moments could not mirror the parameters, so each parameter
    // keeps its own moments and gets its own op, as correct and only slower.
    log_debug("adamw: one update per parameter: ", why);
    attach_per_parameter(backend, params);
  }
}

void AdamWOptimizer::attach_flat(Backend& backend, const std::vector<OptimizerParam>& params,
                                 const std::vector<FlatBuffer>& flat, const std::vector<FlatPlace>& places) {
  // One zero-filled pair of flat moments per flat buffer that holds a parameter, of the buffer's length
  // (padding included) so that a parameter's moments sit at its own offset.
  std::vector<Moments> flat_moments(flat.size());
  for (const FlatPlace& at : places) {
    Moments& fm = flat_moments[at.buffer];
    if (fm.m.defined()) continue;
    const Tensor& values = flat[at.buffer].values;
    fm = {backend.empty({values.numel()}, values.dtype()), backend.empty({values.numel()}, values.dtype())};
    if (values.numel() == 0) continue;
    backend.run(ops::fill, ops::FillArgs{fm.m, 0.0});
    backend.run(ops::fill, ops::FillArgs{fm.v, 0.0});
  }
  // Per parameter, views of its shape, so that state() and checkpoints see one tensor per parameter whatever
  // the layout, and restoring into them restores the flat moments.
  moments_.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Moments& fm = flat_moments[places[i].buffer];
    moments_.push_back({fm.m.sub_buffer(places[i].offset, params[i].value.shape()),
                        fm.v.sub_buffer(places[i].offset, params[i].value.shape())});
  }
  for (const FlatRun& run : flat_runs(params, places)) {
    const FlatBuffer& f = flat[run.buffer];
    const Moments& fm = flat_moments[run.buffer];
    const Shape len{run.end - run.begin};
    updates_.push_back({f.values.sub_buffer(run.begin, len), f.grads.sub_buffer(run.begin, len),
                        fm.m.sub_buffer(run.begin, len), fm.v.sub_buffer(run.begin, len), run.weight_decay});
  }
  log_debug("adamw: ", params.size(), " parameter(s) in ", updates_.size(), " multi-tensor update(s)");
}

void AdamWOptimizer::attach_per_parameter(Backend& backend, const std::vector<OptimizerParam>& params) {
  moments_.reserve(params.size());
  for (const OptimizerParam& p : params) {
    Moments s{backend.empty(p.value.shape(), p.value.dtype()),
              backend.empty(p.value.shape(), p.value.dtype())};
    backend.run(ops::fill, ops::FillArgs{s.m, 0.0});
    backend.run(ops::fill, ops::FillArgs{s.v, 0.0});
    updates_.push_back({p.value, p.grad, s.m, s.v, p.spec.weight_decay});
    moments_.push_back(std::move(s));
  }
}

void AdamWOptimizer::do_step(Backend& backend, const OptimizerStep& step) {
  MTNLG_CHECK(step.step >= 1,
              str("adamw: step ", step.step,
                  " is not a 1-based step count; the bias correction 1 − β^step needs step >= 1"));
  for (const Update& u : updates_) {
    ops::AdamWArgs args{u.value, u.grad, u.m, u.v};
    args.lr = step.lr;
    args.beta1 = beta1_;
    args.beta2 = beta2_;
    args.eps = eps_;
    args.weight_decay = u.weight_decay ? weight_decay_ : 0.0;
    args.step = step.step;
    backend.run(ops::adamw, args);
  }
}

std::vector<OptimizerState> AdamWOptimizer::do_state() const {
  std::vector<OptimizerState> out;
  for (std::size_t i = 0; i < moments_.size(); ++i) {
    out.push_back({i, "adamw.exp_avg", moments_[i].m});
    out.push_back({i, "adamw.exp_avg_sq", moments_[i].v});
  }
  return out;
}

}  // namespace mtnlg::optim
