#pragma once
// The engine runs one rank's part of the model: it executes the instruction stream a schedule generated for
// this pipeline stage, and knows nothing about which schedule that was. Per (micro-batch, chunk) it keeps the
// layers' saved state (only the input of a layer marked for full recomputation), so any number of
// micro-batches may be in flight. Around the layers it does the 3D
// parallelism: point-to-point between stages, the tied-embedding all-reduce between the first and last stage,
// the data-parallel gradient reduction (bucketed all-reduce overlapped with the backward pass, or ZeRO-1's
// reduce-scatter / sharded update / all-gather) and the global gradient norm over every group.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/loss_scaler.hpp"
#include "engine/param_store.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/communicator.hpp"
#include "mtnlg/layer.hpp"
#include "mtnlg/optimizer.hpp"
#include "mtnlg/reader.hpp"
#include "mtnlg/schedule.hpp"

namespace mtnlg::host {

// The process groups this rank belongs to; a null group or one of size 1 means nothing to communicate.
struct EngineGroups {
  ProcessGroup* tensor = nullptr;    // same stage and data-parallel rank: layers slice over it
  ProcessGroup* data = nullptr;      // same tensor and pipeline rank: gradients reduce over it
  ProcessGroup* pipeline = nullptr;  // same tensor and data rank, ordered by stage: activations flow along it
  ProcessGroup* embedding = nullptr;  // first and last stage of one pipeline: the tied embedding's gradient
  ProcessGroup* world = nullptr;      // everything: the loss and the gradient norm reach every rank
};

struct EngineOptions {
  DType dtype = DType::f32;
  int micro_batch = 1;  // samples per micro-batch
  std::uint64_t seed = 1234;
  PipelineLayout layout;         // stages, this stage, chunks (the micro-batch count comes with each step)
  Shape boundary_shape;          // the activation passed between stages: (micro_batch, seq, hidden)
  int tp_rank = 0, tp_size = 1;  // tensor-parallel slot
  int dp_rank = 0, dp_size = 1;  // data-parallel slot: which share of each step's samples this rank reads
  bool zero = false;             // ZeRO-1: optimizer state and update sharded over data-parallel ranks
  std::size_t bucket_bytes = 16u << 20;  // data-parallel all-reduce bucket size
  // fp16 loss scaling (absent: none; bf16 needs none, as in Megatron). A step whose gradients overflow is
  // skipped on every rank.
  std::optional<LossScalerOptions> loss_scaling;
  std::map<std::string, TieOrigin, std::less<>> ties;
  // A test hook (environment MTNLG_PLANT_BUG), so the suite can show its checks catch real bugs:
  // "loss-not-divided-by-dp" weighs each micro-batch 1/M instead of 1/(M·DP); "tensor-replicas-drift" nudges
  // a replicated parameter on tensor rank 1 after each update; "recompute-other-dropout" runs recomputed
  // forwards with the next micro-batch's sample index, so their dropout masks differ;
  // "inf-gradient-at-step:N" makes one gradient element infinite on one rank before step N's update. Empty:
  // none.
  std::string planted_bug;
};

// One model chunk (virtual stage) of this rank: its layers and their positions in the whole model.
struct ChunkLayers {
  std::vector<Layer*> layers;
  std::vector<int> indices;
  // Full activation recomputation, per layer (empty: none). A marked layer's training forward keeps only its
  // input, and its saved state is rebuilt by running the forward again just before its backward. The engine
  // does this for any layer, so a model needs no code for it; the stage marks the transformer blocks
  // (training/recompute_policy.hpp). Dropout keyed by (seed, layer, sample, element) and deterministic
  // kernels make the second forward bitwise the first; with tensor parallelism it repeats the layer's
  // all-reduces, as Megatron's does.
  std::vector<bool> recompute;
};

// What the optimizer was given as its i-th parameter: elements [begin, end) of stored parameter `param`'s
// local slice (the whole slice, or with ZeRO-1 the part inside this rank's shard). Checkpoints name optimizer
// state by it.
struct OptimizerSlice {
  std::size_t param = 0;  // index into ParamStore::params()
  std::int64_t begin = 0, end = 0;
};

struct StepRequest {
  std::int64_t step = 1;          // 1-based count of optimizer steps, this one included
  double lr = 0.0;                // from the LR schedule
  std::int64_t first_sample = 0;  // global index of the step's first sample
  int micro_batches = 1;          // per data-parallel rank; may change from step to step (batch ramp-up)
  double clip_grad = 0.0;         // clip the global gradient norm to this; 0 = no clipping
};

struct StepResult {
  double loss = 0.0;         // mean over the step's micro-batches on all data-parallel ranks (NaN on meta)
  double grad_norm = 0.0;    // global L2 norm of the accumulated gradients, before clipping
  std::int64_t samples = 0;  // over all data-parallel ranks
  double loss_scale = 1.0;   // the fp16 loss scale this step's backward used (1 without loss scaling)
  bool skipped = false;      // the gradients overflowed: no update, the loss scale backed off
  // This rank's wall time in the step: blocked on pipeline peers (a receive before its forward or backward,
  // the sends before the gradient reduction) and computing forwards and backwards. The measured bubble is
  // pipeline_wait_s over the step's time (tools/bench/pipeline-bubble compares it with the planner's).
  double pipeline_wait_s = 0.0;
  double forward_s = 0.0, backward_s = 0.0;
};

class Engine {
 public:
  // The last layer of the last chunk of the last stage must be a loss layer, and no other.
  Engine(Backend& backend, std::vector<ChunkLayers> chunks, const Schedule& schedule, Optimizer* optimizer,
         Reader* reader, EngineOptions options, EngineGroups groups = {});
  ~Engine();

  // One optimizer step: forward and backward over the request's micro-batches as the schedule orders them,
  // gradient reduction, clipping, the optimizer.
  StepResult train_step(const StepRequest& request);
  // Mean loss over `micro_batches` micro-batches of `split` from `first_sample`: forward only, no dropout.
  // Data-parallel ranks share the micro-batches; every rank gets the result.
  double evaluate(const std::string& split, std::int64_t first_sample, int micro_batches);
  // Inference, forward only (evaluation, generation), on a batch the caller supplies instead of the reader:
  // every rank of the pipeline is given the same token ids `tokens` (b, t) i32; the first virtual stage
  // embeds them, every other one receives the (b, t, hidden) activation from the one before, and each sends
  // its output on. The loss layer gets `targets` (b, t). No dropout. `saved`: one state per local layer
  // (resized to fit); afterwards the loss layer's holds the logits, and for incremental decoding
  // (decode_position >= 0, LayerStep::decode_position) the caller passes the same states to every call of one
  // generation. Returns the loss on the rank holding the last virtual stage, an undefined tensor elsewhere.
  Tensor forward_only(const Tensor& tokens, const Tensor& targets, std::vector<SavedState>& saved,
                      std::int64_t decode_position = -1);

  ParamStore& params() { return params_; }
  Optimizer* optimizer() { return optimizer_; }
  // Aligned with the list the optimizer was attached with (empty without an optimizer).
  const std::vector<OptimizerSlice>& optimizer_slices() const { return optimizer_slices_; }
  // ZeRO-1 over more than one rank: each data-parallel rank holds a different part of the optimizer state.
  bool optimizer_state_sharded() const { return options_.zero && options_.dp_size > 1; }
  // What besides tensors a checkpoint must restore for the next step to be the uninterrupted run's.
  const LossScaler* loss_scaler() const { return scaler_.get(); }
  LossScaler* loss_scaler() { return scaler_.get(); }
  std::int64_t optimizer_updates() const { return optimizer_updates_; }
  void set_optimizer_updates(std::int64_t n) { optimizer_updates_ = n; }
  const std::vector<ChunkLayers>& chunks() const { return chunks_; }
  // The schedule's stream for this stage with `micro_batches` micro-batches (generated once per count).
  const std::vector<Instruction>& instructions(int micro_batches);

 private:
  struct ChunkState {
    Tensor input;     // received activation (or the loaded tokens on the first virtual stage)
    Tensor output;    // activation to send, or the loss on the last virtual stage
    Tensor grad_in;   // received gradient of the output
    Tensor grad_out;  // gradient of the input, to send
    WorkHandle recv_activation, recv_grad;
    std::vector<SavedState> saved;  // one per layer of the chunk
    // Full recomputation: per layer, the input its forward runs again from before its backward (undefined
    // for layers that keep their saved state).
    std::vector<Tensor> recompute_inputs;
    bool loaded = false, forwarded = false, backwarded = false;
  };
  struct MicroBatch {
    Batch host;  // kept until the step ends: uploads may still be queued
    Tensor targets;
    std::vector<ChunkState> chunks;
  };
  struct Bucket {
    std::int64_t begin = 0, end = 0;  // element range of the flat gradient buffer
    std::vector<std::size_t> layers;  // local layers (flattened over chunks) whose gradients land in it
    bool deferred = false;            // holds a stage copy: reduced after the tied-embedding all-reduce
    WorkHandle work;
  };

  int virtual_stage(int chunk) const { return chunk * options_.layout.stages + options_.layout.stage; }
  bool first_virtual(int chunk) const { return virtual_stage(chunk) == 0; }
  bool last_virtual(int chunk) const {
    return virtual_stage(chunk) == options_.layout.stages * options_.layout.chunks - 1;
  }
  std::int64_t sample_of(const StepRequest& request, int micro_batch) const;
  void execute(const Instruction& in, std::size_t position, const StepRequest& request,
               std::vector<MicroBatch>& mbs, StepResult& result);
  void load(MicroBatch& mb, int chunk, const std::string& split, std::int64_t first_sample);
  // What layer i of `chunk` sees while running micro-batch `index`.
  LayerStep layer_step(const MicroBatch& mb, int chunk, std::size_t i, int index, std::int64_t first_sample,
                       bool training, double loss_weight) const;
  void forward(MicroBatch& mb, int chunk, int index, std::int64_t first_sample, bool training);
  void backward(MicroBatch& mb, int chunk, int index, std::int64_t first_sample, double loss_weight);
  bool recomputes(int chunk, std::size_t i) const {
    const std::vector<bool>& r = chunks_[chunk].recompute;
    return i < r.size() && r[i];
  }
  WorkHandle post_p2p(bool send, const Tensor& t, int micro_batch, int to_virtual, bool gradient);
  void layer_backward_done(std::size_t flat_layer, int micro_batches);
  void plan_buckets();
  void reduce_gradients();
  double grad_norm();
  void scale_grads(double factor);
  void optimizer_update(const StepRequest& request, StepResult& result);
  double download_scalar(const Tensor& t);
  double sum_over_world(double value);
  void wait_sends();
  // Drops the sends that have completed, and with them the last reference to their buffers: a stage's
  // outputs would otherwise stay alive for the whole step (240 micro-batches × (b, s, h) on MT-NLG's stage
  // 0).
  void release_completed_sends();

  Backend& backend_;
  std::vector<ChunkLayers> chunks_;
  std::vector<std::size_t> chunk_base_;  // flattened index of each chunk's first layer
  Optimizer* optimizer_;
  Reader* reader_;
  EngineOptions options_;
  EngineGroups groups_;
  const Schedule& schedule_;
  ParamStore params_;
  std::map<int, std::vector<Instruction>> instructions_;
  std::vector<Bucket> buckets_;
  std::vector<int> backward_count_;  // per flattened local layer, this step
  std::vector<WorkHandle> pending_sends_;
  std::vector<Tensor> send_buffers_;              // alive until their sends complete
  std::int64_t shard_begin_ = 0, shard_end_ = 0;  // ZeRO-1: this rank's element range of the flat buffers
  Tensor shard_grads_;                            // ZeRO-1: reduce-scatter output
  std::vector<OptimizerSlice> optimizer_slices_;
  std::vector<std::vector<std::size_t>> chunk_params_;  // per chunk: stored parameters its layers use
  std::unique_ptr<LossScaler> scaler_;
  std::int64_t optimizer_updates_ = 0;  // updates made (steps minus skipped ones)
};

}  // namespace mtnlg::host
