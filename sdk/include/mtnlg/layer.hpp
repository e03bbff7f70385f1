#pragma once
// A layer declares its parameters and implements forward and backward explicitly. It keeps no state per
// micro-batch: forward stores what backward needs in the SavedState the engine hands it for that
// (micro-batch, chunk), and backward consumes it — several micro-batches can be in flight on one stage.
// Neither pass may modify its input (x, dy): the caller may still need it (a residual branch, a saved input).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/communicator.hpp"
#include "mtnlg/component.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg {

struct InitSpec {
  enum class Kind : std::uint8_t { zeros, constant, normal };
  Kind kind = Kind::zeros;
  double value = 0.0;      // the constant, or the normal's standard deviation (mean 0)
  std::int64_t rows = -1;  // only the first `rows` rows (dimension 0) get it, the rest are zero: vocabulary
                           // padding. -1: every row.

  static InitSpec zeros() { return {Kind::zeros, 0.0}; }
  static InitSpec constant(double v) { return {Kind::constant, v}; }
  static InitSpec normal(double std) { return {Kind::normal, std}; }
  static InitSpec normal_rows(double std, std::int64_t rows) { return {Kind::normal, std, rows}; }
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
  // Parameters declared with the same non-empty tie are one tensor (the input embedding and the LM head):
  // allocated and initialised once, from the first declaration, with one gradient that both accumulate into.
  std::string tie;
};

// The engine's view of one layer's parameters and their gradient accumulators (this rank's slices).
class MTNLG_SDK_API ParamSet {
 public:
  virtual ~ParamSet();
  virtual Tensor value(std::string_view name) const = 0;
  virtual Tensor grad(std::string_view name) const = 0;
};

// The parameters of a composite layer's named child: the child's "weight" is the parent's "<prefix>weight".
class MTNLG_SDK_API ChildParamSet final : public ParamSet {
 public:
  ChildParamSet(const ParamSet& parent, std::string prefix) : parent_(parent), prefix_(std::move(prefix)) {}
  Tensor value(std::string_view name) const override;
  Tensor grad(std::string_view name) const override;

 private:
  const ParamSet& parent_;
  std::string prefix_;
};

// What forward leaves for backward, for one (micro-batch, chunk) and one layer; a composite layer gives each
// child its own nested state.
class MTNLG_SDK_API SavedState {
 public:
  void put(std::string name, Tensor t);
  const Tensor& get(std::string_view name) const;  // error names the missing entry
  bool contains(std::string_view name) const;
  SavedState& child(std::string_view name);  // created on first use
  void clear();
  std::size_t size() const { return tensors_.size(); }
  std::size_t bytes() const;  // children included

 private:
  std::map<std::string, Tensor, std::less<>> tensors_;
  std::map<std::string, std::unique_ptr<SavedState>, std::less<>> children_;
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
  // The tensor-parallel group this stage's layers are sliced over; null when tensor parallelism is 1. Layers
  // read the slice count from the recipe's parallel.tensor when they are created.
  ProcessGroup* tensor_group = nullptr;
  // Incremental decoding (generation with a key-value cache); -1 otherwise, and always while training. The
  // input holds positions [decode_position, decode_position + T) of each sequence, and the host passes the
  // same SavedState to every call of one generation: a layer that looks at earlier positions (attention)
  // keeps what it needs of them there (their keys and values) instead of being given them again, and a
  // position-dependent layer (learned positions) offsets its positions.
  std::int64_t decode_position = -1;

  int tensor_rank() const { return tensor_group != nullptr ? tensor_group->rank() : 0; }
  // Sums a partial result over the tensor-parallel ranks, in place (Megatron's all-reduce after a
  // row-parallel forward or a column-parallel backward); nothing to do without tensor parallelism.
  void sum_over_tensor_parallel(const Tensor& t, ReduceOp op = ReduceOp::sum) const {
    if (tensor_group != nullptr) tensor_group->all_reduce(backend, t, op)->wait();
  }
};

class Layer;

// How a composite layer (a transformer block) creates its named children from the registry, so a variant
// (RMSNorm, SwiGLU, rotary attention) is a new plugin named in the recipe, not a fork of the block. The host
// provides it in CreateArgs::layers; `params` are the child's recipe keys (validated, defaults filled).
class MTNLG_SDK_API LayerFactory {
 public:
  virtual ~LayerFactory();
  virtual std::unique_ptr<Layer> create_layer(std::string_view component, const Table& params, int index,
                                              std::string_view label) const = 0;
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
