#pragma once
// The engine runs one pipeline stage: it executes the instruction stream a schedule generated for this stage,
// and knows nothing about which schedule that was. Per (micro-batch, chunk) it keeps the layers' saved state,
// so any number of micro-batches may be in flight.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/param_store.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/layer.hpp"
#include "mtnlg/optimizer.hpp"
#include "mtnlg/reader.hpp"
#include "mtnlg/schedule.hpp"

namespace mtnlg::host {

struct EngineOptions {
  DType dtype = DType::f32;
  int micro_batch = 1;    // samples per micro-batch
  int micro_batches = 1;  // micro-batches per step (gradient accumulation)
  std::uint64_t seed = 1234;
  PipelineLayout layout;  // stages, this stage, micro-batches, chunks
};

struct StepResult {
  double loss = 0.0;       // mean over the step's micro-batches (NaN on the meta backend)
  double grad_norm = 0.0;  // global L2 norm of the accumulated gradients before the optimizer step
  std::int64_t samples = 0;
};

class Engine {
 public:
  // `layers` are this stage's layers, `layer_indices` their positions in the whole model. The last layer of
  // the last stage must be a loss layer.
  Engine(Backend& backend, std::vector<Layer*> layers, std::vector<int> layer_indices,
         const Schedule& schedule, Optimizer* optimizer, Reader* reader, EngineOptions options);

  // One optimizer step over micro_batches micro-batches, the first of which starts at global sample
  // `first_sample`. `step` is 1-based.
  StepResult train_step(std::int64_t step, double lr, std::int64_t first_sample);

  ParamStore& params() { return params_; }
  const std::vector<Instruction>& instructions() const { return instructions_; }

 private:
  struct MicroBatch {
    Batch host;  // kept until the step ends: uploads may still be queued
    Tensor inputs, targets, loss;
    std::vector<SavedState> saved;  // one per layer
    bool loaded = false, forwarded = false, backwarded = false;
  };

  void execute(const Instruction& in, std::size_t position, std::int64_t step, double lr,
               std::int64_t first_sample, std::vector<MicroBatch>& mbs, StepResult& result);
  void load(MicroBatch& mb, std::int64_t first_sample);
  void forward(MicroBatch& mb, int index, std::int64_t first_sample);
  void backward(MicroBatch& mb, int index, std::int64_t first_sample);
  double grad_norm();
  double download_scalar(const Tensor& t);

  Backend& backend_;
  std::vector<Layer*> layers_;
  std::vector<int> layer_indices_;
  Optimizer* optimizer_;
  Reader* reader_;
  EngineOptions options_;
  ParamStore params_;
  std::vector<Instruction> instructions_;
};

}  // namespace mtnlg::host
