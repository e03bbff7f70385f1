#pragma once
// An optimizer updates the engine-owned parameters from their gradients. It sees every parameter of the
// stage both as a view per parameter (for per-parameter rules such as weight-decay exclusions) and as the
// flat buffers they live in (for multi-tensor updates).
#include <cstdint>
#include <string>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/component.hpp"
#include "mtnlg/layer.hpp"

namespace mtnlg {

struct OptimizerParam {
  std::string name;  // "3.weight": layer index, then the layer's parameter name
  ParamSpec spec;
  Tensor value;  // this rank's slice
  Tensor grad;
};

struct FlatBuffer {
  Tensor values;  // 1-D, every parameter of one dtype back to back
  Tensor grads;   // same layout
};

// One tensor of an optimizer's state (AdamW's first moment of one parameter, ...): what a checkpoint saves
// and restores so that a resumed run continues exactly. The tensor has the shape of the attached parameter
// `param` (an index into the list attach() got); a checkpoint restores it by uploading into this tensor.
struct OptimizerState {
  std::size_t param = 0;
  std::string kind;  // stable across versions and layouts: "adamw.exp_avg"
  Tensor tensor;
};

struct OptimizerStep {
  std::int64_t step = 0;  // 1-based count of optimizer steps, including this one
  double lr = 0.0;        // the scheduler's learning rate for this step
};

class MTNLG_SDK_API Optimizer : public Component {
 public:
  static constexpr const char* kKind = "optimizer";
  ~Optimizer() override;
  // Called once, after the parameters are allocated and initialised; the optimizer allocates its state here.
  void attach(Backend& backend, const std::vector<OptimizerParam>& params,
              const std::vector<FlatBuffer>& flat);
  void step(Backend& backend, const OptimizerStep& step);
  // The learning rate the recipe gave this optimizer (schedulers scale from it).
  double base_lr() const;
  // Every state tensor, after attach(); empty for a stateless optimizer (SGD without momentum).
  std::vector<OptimizerState> state() const;

 protected:
  virtual void do_attach(Backend& backend, const std::vector<OptimizerParam>& params,
                         const std::vector<FlatBuffer>& flat) = 0;
  virtual void do_step(Backend& backend, const OptimizerStep& step) = 0;
  virtual double do_base_lr() const = 0;
  // Pure, so that an optimizer written against the SDK says what its state is: one that keeps state but
  // reports none would resume from zeros.
  virtual std::vector<OptimizerState> do_state() const = 0;
};

}  // namespace mtnlg
