#pragma once
// A layer declares its parameters and implements forward and backward explicitly. It keeps no state per
// micro-batch: forward stores what backward needs in the SavedState the engine hands it for that
// (micro-batch, chunk), and backward consumes it — several micro-batches can be in flight on one stage.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/component.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg {

struct InitSpec {
  enum class Kind : std::uint8_t { zeros, constant, normal };
  Kind kind = Kind::zeros;
  double value = 0.0;  // the constant, or the normal's standard deviation (mean 0)

  static InitSpec zeros() { return {Kind::zeros, 0.0}; }
  static InitSpec constant(double v) { return {Kind::constant, v}; }
  static InitSpec normal(double std) { return {Kind::normal, std}; }
};

// A parameter as the layer declares it: its full (global) shape, whatever the parallel layout. The engine
// allocates it in its flat buffers, draws the full tensor from a seed derived from (recipe seed, layer index,
// name) and keeps this rank's slice of dimension `tp_dim` (-1: replicated on every tensor-parallel rank).
struct ParamSpec {
  std::string name;
  Shape shape;
  InitSpec init;
  int tp_dim = -1;
  bool weight_decay = true;  // false for biases and norm gains
};

// The engine's view of one layer's parameters and their gradient accumulators (this rank's slices).
class MTNLG_SDK_API ParamSet {
 public:
  virtual ~ParamSet();
  virtual Tensor value(std::string_view name) const = 0;
  virtual Tensor grad(std::string_view name) const = 0;
};

// What forward leaves for backward, for one (micro-batch, chunk) and one layer.
class MTNLG_SDK_API SavedState {
 public:
  void put(std::string name, Tensor t);
  const Tensor& get(std::string_view name) const;  // error names the missing entry
  bool contains(std::string_view name) const;
  void clear() { tensors_.clear(); }
  std::size_t size() const { return tensors_.size(); }
  std::size_t bytes() const;

 private:
  std::map<std::string, Tensor, std::less<>> tensors_;
};

// Everything a layer may look at while running one micro-batch.
struct LayerStep {
  Backend& backend;
  const ParamSet& params;
  const Tensor* targets = nullptr;  // on the device; given to loss layers only
  int micro_batch = 0;              // index within the step
  std::int64_t first_sample = 0;    // global index of the micro-batch's first sample (keys random ops)
  bool training = true;
  bool need_input_grad = true;  // false for the first layer: backward may return an undefined Tensor
  double loss_weight = 1.0;     // loss layers: dL/d(this micro-batch's loss), e.g. 1/micro_batches
};

class MTNLG_SDK_API Layer : public Component {
 public:
  static constexpr const char* kKind = "layer";
  ~Layer() override;

  std::vector<ParamSpec> parameters() const;
  // y = f(x). A loss layer returns a (1) tensor: the mean loss over the micro-batch's targets.
  Tensor forward(const LayerStep& step, const Tensor& x, SavedState& saved);
  // Returns dL/dx and *adds* dL/dθ into step.params.grad(…) (gradients accumulate over micro-batches).
  // A loss layer gets an undefined dy: its upstream gradient is the host scalar step.loss_weight.
  Tensor backward(const LayerStep& step, const Tensor& dy, SavedState& saved);
  bool is_loss() const;

 protected:
  virtual std::vector<ParamSpec> do_parameters() const { return {}; }
  virtual Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) = 0;
  virtual Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) = 0;
  virtual bool do_is_loss() const { return false; }
};

}  // namespace mtnlg
