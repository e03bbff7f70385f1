#pragma once
// The engine owns every parameter and gradient of a stage in flat buffers (one pair per dtype); layers get
// views. One layout then serves gradient accumulation, multi-tensor optimizers, clipping that counts each
// parameter once, data-parallel buckets and sharded checkpoints, and the meta backend's memory accounting.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/layer.hpp"
#include "mtnlg/optimizer.hpp"

namespace mtnlg::host {

struct TensorParallelSlot {
  int rank = 0;
  int size = 1;
};

// Where a tied parameter was first declared in the whole model: that declaration keys its initialisation, so
// a copy on another pipeline stage (the LM head's view of the word embeddings) starts from the same values.
struct TieOrigin {
  int layer_index = 0;
  std::string name;
  bool on_this_stage = true;  // false: this stage holds a copy, all-reduced with the origin's stage
};

struct ParamLayout {
  TensorParallelSlot tp;
  int pad_to = 1;  // the flat buffers' length is rounded up to a multiple of this (ZeRO-1 shards them)
  std::map<std::string, TieOrigin, std::less<>> ties;  // by tie name; absent: first declaration here
};

struct StoredParam {
  int layer_index = 0;  // global index of the owning layer in the model
  ParamSpec spec;       // as declared: global shape
  Shape local_shape;    // this rank's slice
  Tensor value;
  Tensor grad;
  // Mixed precision (16-bit value and grad): the fp32 master weight the optimizer updates, and the fp32 main
  // gradient each micro-batch's 16-bit gradient is added into. Undefined otherwise.
  Tensor master;
  Tensor main_grad;
  std::int64_t offset = 0;   // in the flat buffers
  int init_layer_index = 0;  // what keys its initialisation: (seed, init_layer_index, init_name)
  std::string init_name;
  bool stage_copy = false;  // a tied copy of a parameter whose origin is on another stage
  // Whether this rank's gradient counts towards the global norm: every element once over all ranks (a
  // tensor-parallel replica counts on tp rank 0 only, a stage copy not at all).
  bool counts_in_norm = true;
  std::string full_name() const;  // "3.weight"
  // What the optimizer, gradient reductions and checkpoints work on: the fp32 copies in mixed precision.
  const Tensor& update_value() const { return master.defined() ? master : value; }
  const Tensor& update_grad() const { return main_grad.defined() ? main_grad : grad; }
};

class ParamStore {
 public:
  // `declared[i]` are the parameters of the stage's i-th layer, whose model-wide index is `layer_indices[i]`.
  ParamStore(Backend& backend, const std::vector<std::vector<ParamSpec>>& declared,
             const std::vector<int>& layer_indices, DType dtype, const ParamLayout& layout = {});

  // Draws each parameter's full tensor from a stream keyed by (seed, layer index, name) and keeps this rank's
  // slice, so every layout starts from the same weights (in mixed precision into the fp32 master weights, and
  // the 16-bit values rounded from them). No-op on the meta backend.
  void initialize(std::uint64_t seed);
  void zero_grads();

  // Mixed precision: bf16 or f16 values and gradients, with fp32 master weights and main gradients.
  bool mixed() const { return mixed_; }
  // Adds the 16-bit gradients of stored parameters `indices` into their fp32 main gradients and zeroes them:
  // after each micro-batch's backward, so that accumulation over micro-batches happens in fp32.
  void accumulate_main_grads(const std::vector<std::size_t>& indices);
  // values[begin, end) = master[begin, end) rounded to the 16-bit dtype (elements of the flat buffers).
  void publish_master(std::int64_t begin, std::int64_t end);

  const std::vector<StoredParam>& params() const { return params_; }
  const ParamSet& layer_params(std::size_t local_layer) const { return *views_.at(local_layer); }
  // The stored parameters (indices into params()) that local layer `local_layer` reads or accumulates into.
  const std::vector<std::size_t>& layer_param_indices(std::size_t local_layer) const {
    return owner_.at(local_layer);
  }
  // The layers' buffers: 16-bit in mixed precision.
  std::vector<FlatBuffer> flat_buffers() const { return {flat_}; }
  // What the optimizer and the gradient reductions work on: the fp32 master weights and main gradients in
  // mixed precision, otherwise the same as flat_buffers().
  FlatBuffer update_buffers() const { return mixed_ ? master_ : flat_; }
  std::vector<OptimizerParam> optimizer_params() const;
  std::int64_t local_numel() const { return flat_.values.numel(); }
  std::int64_t global_numel() const;

 private:
  Backend& backend_;
  DType dtype_;
  TensorParallelSlot tp_;
  FlatBuffer flat_;
  bool mixed_ = false;
  FlatBuffer master_;  // mixed precision: fp32 master weights and main gradients, same layout as flat_
  std::vector<std::vector<std::size_t>> owner_;
  std::vector<StoredParam> params_;
  std::vector<std::unique_ptr<ParamSet>> views_;
};

}  // namespace mtnlg::host
