#pragma once
// The engine runs one pipeline stage: it executes the instruction stream a schedule generated for this stage,
// and knows nothing about which schedule that was. Per (micro-batch, chunk) it keeps the layers' saved state,
// so any number of micro-batches may be in flight.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
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
  int micro_batch = 1;  // samples per micro-batch
  std::uint64_t seed = 1234;
  PipelineLayout layout;  // stages, this stage, chunks (the micro-batch count comes with each step)
};

struct StepRequest {
  std::int64_t step = 1;          // 1-based count of optimizer steps, this one included
  double lr = 0.0;                // from the LR schedule
  std::int64_t first_sample = 0;  // global index of the step's first sample
  int micro_batches = 1;          // gradient accumulation; may change from step to step (batch ramp-up)
  double clip_grad = 0.0;         // clip the global gradient norm to this; 0 = no clipping
};

struct StepResult {
  double loss = 0.0;       // mean over the step's micro-batches (NaN on the meta backend)
  double grad_norm = 0.0;  // global L2 norm of the accumulated gradients, before clipping
  std::int64_t samples = 0;
};

class Engine {
 public:
  // `layers` are this stage's layers, `layer_indices` their positions in the whole model. The last layer of
  // the last stage must be a loss layer.
  Engine(Backend& backend, std::vector<Layer*> layers, std::vector<int> layer_indices,
         const Schedule& schedule, Optimizer* optimizer, Reader* reader, EngineOptions options);

  // One optimizer step: forward and backward over the request's micro-batches as the schedule orders them,
  // gradient reduction, clipping, the optimizer.
  StepResult train_step(const StepRequest& request);
  // Mean loss over `micro_batches` micro-batches of `split` from `first_sample`: forward only, no dropout.
  double evaluate(const std::string& split, std::int64_t first_sample, int micro_batches);

  ParamStore& params() { return params_; }
  // The schedule's stream for this stage with `micro_batches` micro-batches (generated once per count).
  const std::vector<Instruction>& instructions(int micro_batches);

 private:
  struct MicroBatch {
    Batch host;  // kept until the step ends: uploads may still be queued
    Tensor inputs, targets, loss;
    std::vector<SavedState> saved;  // one per layer
    bool loaded = false, forwarded = false, backwarded = false;
  };

  void execute(const Instruction& in, std::size_t position, const StepRequest& request,
               std::vector<MicroBatch>& mbs, StepResult& result);
  void load(MicroBatch& mb, const std::string& split, std::int64_t first_sample);
  void forward(MicroBatch& mb, int index, std::int64_t first_sample, bool training);
  void backward(MicroBatch& mb, int index, std::int64_t first_sample, int micro_batches);
  double grad_norm();
  void scale_grads(double factor);
  double download_scalar(const Tensor& t);

  Backend& backend_;
  std::vector<Layer*> layers_;
  std::vector<int> layer_indices_;
  Optimizer* optimizer_;
  Reader* reader_;
  EngineOptions options_;
  const Schedule& schedule_;
  ParamStore params_;
  std::map<int, std::vector<Instruction>> instructions_;
};

}  // namespace mtnlg::host
