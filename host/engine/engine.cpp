#include "engine/engine.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>

#include "engine/scalar_all_reduce.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {

std::vector<std::vector<ParamSpec>> declared_params(const std::vector<ChunkLayers>& chunks) {
  std::vector<std::vector<ParamSpec>> out;
  for (const ChunkLayers& c : chunks)
    for (Layer* l : c.layers) out.push_back(l->parameters());
  return out;
}

std::vector<int> flat_indices(const std::vector<ChunkLayers>& chunks) {
  std::vector<int> out;
  for (const ChunkLayers& c : chunks) out.insert(out.end(), c.indices.begin(), c.indices.end());
  return out;
}

bool active(const ProcessGroup* g) {
  return g != nullptr && g->size() > 1;
}

// What a point-to-point operation is on the meta backend (`mtnlg check` simulates one stage without a
// communicator): the buffers are allocated and accounted for, nothing moves.
class NoTransfer final : public Work {
 protected:
  void do_wait() override {}
  bool do_test() override { return true; }
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Engine::Engine(Backend& backend, std::vector<ChunkLayers> chunks, const Schedule& schedule,
               Optimizer* optimizer, Reader* reader, EngineOptions options, EngineGroups groups)
    : backend_(backend),
      chunks_(std::move(chunks)),
      optimizer_(optimizer),
      reader_(reader),
      options_(std::move(options)),
      groups_(groups),
      schedule_(schedule),
      params_(
          backend, declared_params(chunks_), flat_indices(chunks_), options_.dtype,
          ParamLayout{
              {options_.tp_rank, options_.tp_size}, options_.zero ? options_.dp_size : 1, options_.ties}) {
  const PipelineLayout& layout = options_.layout;
  MTNLG_CHECK(layout.stages >= 1 && layout.stage >= 0 && layout.stage < layout.stages && layout.chunks >= 1,
              str("invalid pipeline layout: stage ", layout.stage, " of ", layout.stages, ", ", layout.chunks,
                  " chunks"));
  MTNLG_CHECK(
      static_cast<int>(chunks_.size()) == layout.chunks,
      str("the stage was given ", chunks_.size(), " model chunks for ", layout.chunks, " virtual stages"));
  MTNLG_CHECK(options_.micro_batch >= 1, "micro_batch must be >= 1");
  const bool last_stage = layout.stage == layout.stages - 1;
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    MTNLG_CHECK(!chunks_[c].layers.empty(), str("pipeline stage ", layout.stage, " chunk ", c,
                                                " has no layers; give every stage at least one"));
    const auto& layers = chunks_[c].layers;
    const bool holds_loss = last_stage && c + 1 == chunks_.size();
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const bool must_be_loss = holds_loss && i + 1 == layers.size();
      if (must_be_loss)
        MTNLG_CHECK(layers[i]->is_loss(), str("the last layer of the model (", layers[i]->component_label(),
                                              ") is not a loss layer; end the model stack with one"));
      else
        MTNLG_CHECK(!layers[i]->is_loss(),
                    str(layers[i]->component_label(), " at position ", chunks_[c].indices[i],
                        " is a loss layer; only the last layer may be one"));
    }
  }
  std::size_t base = 0;
  for (const ChunkLayers& c : chunks_) {
    chunk_base_.push_back(base);
    base += c.layers.size();
  }
  backward_count_.assign(base, 0);

  params_.initialize(options_.seed);
  if (options_.loss_scaling) scaler_ = std::make_unique<LossScaler>(*options_.loss_scaling);
  // Per chunk, the stored parameters its layers use: their 16-bit gradients move into the fp32 main
  // gradients after each of the chunk's backward passes.
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    std::set<std::size_t> used;
    for (std::size_t i = 0; i < chunks_[c].layers.size(); ++i)
      for (std::size_t p : params_.layer_param_indices(chunk_base_[c] + i)) used.insert(p);
    chunk_params_.emplace_back(used.begin(), used.end());
  }
  // In mixed precision the optimizer, the reductions and the norm work on the fp32 master weights and main
  // gradients; the layers on the 16-bit values and gradients.
  const FlatBuffer flat = params_.update_buffers();
  if (options_.zero && options_.dp_size > 1) {
    // ZeRO-1: this rank owns elements [begin, end) of the flat buffers: it keeps optimizer state for them
    // only.
    const std::int64_t shard = flat.values.numel() / options_.dp_size;
    shard_begin_ = shard * options_.dp_rank;
    shard_end_ = shard_begin_ + shard;
    shard_grads_ = backend_.empty({shard}, flat.grads.dtype());
    if (optimizer_ != nullptr) {
      std::vector<OptimizerParam> pieces;
      for (std::size_t i = 0; i < params_.params().size(); ++i) {
        const StoredParam& p = params_.params()[i];
        const std::int64_t b = std::max(p.offset, shard_begin_);
        const std::int64_t e = std::min(p.offset + shape_numel(p.local_shape), shard_end_);
        if (b >= e) continue;
        pieces.push_back({str(p.full_name(), "[", b - p.offset, ":", e - p.offset, "]"), p.spec,
                          flat.values.sub_buffer(b, {e - b}), flat.grads.sub_buffer(b, {e - b})});
        optimizer_slices_.push_back({i, b - p.offset, e - p.offset});
      }
      optimizer_->attach(
          backend_, pieces,
          {{flat.values.sub_buffer(shard_begin_, {shard}), flat.grads.sub_buffer(shard_begin_, {shard})}});
    }
  } else {
    shard_begin_ = 0;
    shard_end_ = flat.values.numel();
    if (optimizer_ != nullptr) {
      optimizer_->attach(backend_, params_.optimizer_params(), {flat});
      for (std::size_t i = 0; i < params_.params().size(); ++i)
        optimizer_slices_.push_back({i, 0, shape_numel(params_.params()[i].local_shape)});
    }
    if (active(groups_.data)) plan_buckets();
  }
}

Engine::~Engine() {
  // Posted operations must finish before their buffers go (an error path may leave some behind).
  for (WorkHandle& w : pending_sends_) w.reset();
  for (Bucket& b : buckets_) b.work.reset();
}

const std::vector<Instruction>& Engine::instructions(int micro_batches) {
  MTNLG_CHECK(micro_batches >= 1, str("a step needs at least one micro-batch, got ", micro_batches));
  auto it = instructions_.find(micro_batches);
  if (it == instructions_.end()) {
    PipelineLayout layout = options_.layout;
    layout.micro_batches = micro_batches;
    it = instructions_.emplace(micro_batches, schedule_.instructions(layout)).first;
  }
  return it->second;
}

std::int64_t Engine::sample_of(const StepRequest& request, int micro_batch) const {
  // Data-parallel rank d reads micro-batches [d·M, (d+1)·M) of the step: every sample's global index, which
  // keys its dropout masks, is the same as on one rank.
  const std::int64_t m = static_cast<std::int64_t>(options_.dp_rank) * request.micro_batches + micro_batch;
  return request.first_sample + m * options_.micro_batch;
}

StepResult Engine::train_step(const StepRequest& request) {
  const auto& stream = instructions(request.micro_batches);
  std::vector<MicroBatch> mbs(static_cast<std::size_t>(request.micro_batches));
  for (auto& mb : mbs) {
    mb.chunks.resize(chunks_.size());
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      mb.chunks[c].saved.resize(chunks_[c].layers.size());
      mb.chunks[c].recompute_inputs.resize(chunks_[c].layers.size());
    }
  }
  StepResult result;
  result.samples = static_cast<std::int64_t>(options_.micro_batch) * request.micro_batches * options_.dp_size;
  params_.zero_grads();
  std::fill(backward_count_.begin(), backward_count_.end(), 0);
  for (std::size_t i = 0; i < stream.size(); ++i) execute(stream[i], i, request, mbs, result);

  for (std::size_t i = 0; i < mbs.size(); ++i)
    for (std::size_t c = 0; c < chunks_.size(); ++c)
      MTNLG_CHECK(
          mbs[i].chunks[c].backwarded,
          str("the schedule's stream ended without a backward pass for micro-batch ", i, " chunk ", c));
  wait_sends();
  double local = 0.0;
  const bool reports_loss = options_.layout.stage == options_.layout.stages - 1 && options_.tp_rank == 0;
  if (reports_loss)
    for (auto& mb : mbs) local += download_scalar(mb.chunks.back().output);
  result.loss = sum_over_world(reports_loss ? local / (request.micro_batches * options_.dp_size) : 0.0);
  return result;
}

double Engine::evaluate(const std::string& split, std::int64_t first_sample, int micro_batches) {
  MTNLG_CHECK(micro_batches >= 1, "evaluation needs at least one micro-batch");
  // Forward only, micro-batch by micro-batch through every virtual stage; data-parallel rank d takes the
  // micro-batches m with m mod DP = d.
  double local = 0.0;
  for (int m = options_.dp_rank; m < micro_batches; m += options_.dp_size) {
    MicroBatch mb;
    mb.chunks.resize(chunks_.size());
    const std::int64_t first = first_sample + static_cast<std::int64_t>(m) * options_.micro_batch;
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      const int chunk = static_cast<int>(c);
      ChunkState& cs = mb.chunks[c];
      cs.saved.resize(chunks_[c].layers.size());
      if (!first_virtual(chunk)) {
        cs.input = backend_.empty(options_.boundary_shape, options_.dtype);
        post_p2p(false, cs.input, m, virtual_stage(chunk) - 1, false)->wait();
      }
      if (first_virtual(chunk) || last_virtual(chunk)) load(mb, chunk, split, first);
      forward(mb, chunk, m, first, /*training=*/false);
      if (!last_virtual(chunk)) {
        pending_sends_.push_back(post_p2p(true, cs.output, m, virtual_stage(chunk) + 1, false));
        send_buffers_.push_back(cs.output);
      } else if (options_.tp_rank == 0) {
        local += download_scalar(cs.output);
      }
      cs.saved.clear();
    }
  }
  wait_sends();
  return sum_over_world(local) / micro_batches;
}

Tensor Engine::forward_only(const Tensor& tokens, const Tensor& targets, std::vector<SavedState>& saved,
                            std::int64_t decode_position) {
  MTNLG_CHECK(tokens.ndim() == 2 && tokens.dtype() == DType::i32 && targets.shape() == tokens.shape(),
              str("forward_only: tokens and targets must be (b, t) i32, got ", tokens.describe(), " and ",
                  targets.describe()));
  const std::size_t local_layers = chunk_base_.back() + chunks_.back().layers.size();
  saved.resize(local_layers);
  const Shape boundary = {tokens.dim(0), tokens.dim(1), options_.boundary_shape.back()};  // (b, t, hidden)
  Tensor out;
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    const int chunk = static_cast<int>(c);
    Tensor x = tokens;
    if (!first_virtual(chunk)) {
      x = backend_.empty(boundary, options_.dtype);
      post_p2p(false, x, 0, virtual_stage(chunk) - 1, false)->wait();
    }
    for (std::size_t i = 0; i < chunks_[c].layers.size(); ++i) {
      Layer& layer = *chunks_[c].layers[i];
      const LayerStep step{.backend = backend_,
                           .params = params_.layer_params(chunk_base_[c] + i),
                           .targets = layer.is_loss() ? &targets : nullptr,
                           .training = false,
                           .need_input_grad = false,
                           .tensor_group = active(groups_.tensor) ? groups_.tensor : nullptr,
                           .decode_position = decode_position};
      x = layer.forward(step, x, saved[chunk_base_[c] + i]);
    }
    if (last_virtual(chunk)) {
      out = x;
    } else {
      pending_sends_.push_back(post_p2p(true, x, 0, virtual_stage(chunk) + 1, false));
      send_buffers_.push_back(x);
    }
  }
  wait_sends();
  return out;
}

void Engine::execute(const Instruction& in, std::size_t position, const StepRequest& request,
                     std::vector<MicroBatch>& mbs, StepResult& result) {
  const auto where = [&] {
    return str("stage ", options_.layout.stage, " instruction ", position, " (", instruction_str(in), ")");
  };
  const bool per_micro_batch = in.op != InstrOp::reduce_grads && in.op != InstrOp::optimizer_step;
  if (per_micro_batch) {
    MTNLG_CHECK(in.micro_batch >= 0 && in.micro_batch < request.micro_batches,
                str(where(), ": micro-batch out of range [0, ", request.micro_batches, ")"));
    MTNLG_CHECK(in.chunk >= 0 && in.chunk < options_.layout.chunks,
                str(where(), ": chunk out of range [0, ", options_.layout.chunks, ")"));
  }
  const int c = in.chunk, v = virtual_stage(c);
  MicroBatch* mb = per_micro_batch ? &mbs[in.micro_batch] : nullptr;
  ChunkState* cs = per_micro_batch ? &mb->chunks[c] : nullptr;
  const std::int64_t mb_first = per_micro_batch ? sample_of(request, in.micro_batch) : 0;
  switch (in.op) {
    case InstrOp::load_micro_batch:
      MTNLG_CHECK(first_virtual(c) || last_virtual(c),
                  where() + ": only the first and the last virtual stage read data");
      load(*mb, c, "train", mb_first);
      break;
    case InstrOp::recv_activation:
      MTNLG_CHECK(!first_virtual(c), where() + ": the first virtual stage receives no activation");
      MTNLG_CHECK(!cs->recv_activation, where() + ": second receive for the same micro-batch");
      cs->input = backend_.empty(options_.boundary_shape, options_.dtype);
      cs->recv_activation = post_p2p(false, cs->input, in.micro_batch, v - 1, false);
      break;
    case InstrOp::forward:
      MTNLG_CHECK(!cs->forwarded, where() + ": second forward of the same micro-batch");
      if (first_virtual(c) || last_virtual(c))
        MTNLG_CHECK(cs->loaded, where() + ": forward before the micro-batch was loaded");
      if (!first_virtual(c)) {
        MTNLG_CHECK(cs->recv_activation, where() + ": forward before its activation's receive was posted");
        const auto waiting = Clock::now();
        cs->recv_activation->wait();
        result.pipeline_wait_s += seconds_since(waiting);
        cs->recv_activation.reset();
      }
      {
        const auto computing = Clock::now();
        forward(*mb, c, in.micro_batch, mb_first, /*training=*/true);
        result.forward_s += seconds_since(computing);
      }
      break;
    case InstrOp::send_activation:
      MTNLG_CHECK(!last_virtual(c), where() + ": the last virtual stage sends no activation");
      MTNLG_CHECK(cs->forwarded, where() + ": send before the forward that produces it");
      pending_sends_.push_back(post_p2p(true, cs->output, in.micro_batch, v + 1, false));
      send_buffers_.push_back(std::move(cs->output));  // the send holds the only reference now
      release_completed_sends();
      break;
    case InstrOp::recv_grad:
      MTNLG_CHECK(!last_virtual(c), where() + ": the last virtual stage receives no gradient");
      MTNLG_CHECK(!cs->recv_grad, where() + ": second gradient receive for the same micro-batch");
      cs->grad_in = backend_.empty(options_.boundary_shape, options_.dtype);
      cs->recv_grad = post_p2p(false, cs->grad_in, in.micro_batch, v + 1, true);
      break;
    case InstrOp::backward: {
      MTNLG_CHECK(cs->forwarded, where() + ": backward before forward");
      MTNLG_CHECK(!cs->backwarded, where() + ": second backward of the same micro-batch");
      if (!last_virtual(c)) {
        MTNLG_CHECK(cs->recv_grad, where() + ": backward before its gradient's receive was posted");
        const auto waiting = Clock::now();
        cs->recv_grad->wait();
        result.pipeline_wait_s += seconds_since(waiting);
        cs->recv_grad.reset();
      }
      const auto computing = Clock::now();
      // Each micro-batch's mean loss weighs 1/(M·DP) in the step's loss, so its gradients do too: the data-
      // parallel sum then gives the mean over the global batch.
      // fp16: times the loss scale, so that small gradients do not flush to zero in 16 bits.
      backward(*mb, c, in.micro_batch, mb_first,
               (scaler_ ? scaler_->scale() : 1.0) /
                   (static_cast<double>(request.micro_batches) *
                    (options_.planted_bug == "loss-not-divided-by-dp" ? 1 : options_.dp_size)));
      for (std::size_t i = 0; i < chunks_[c].layers.size(); ++i)
        layer_backward_done(chunk_base_[c] + i, request.micro_batches);
      result.backward_s += seconds_since(computing);
      break;
    }
    case InstrOp::send_grad:
      MTNLG_CHECK(!first_virtual(c), where() + ": the first virtual stage sends no gradient");
      MTNLG_CHECK(cs->backwarded, where() + ": gradient send before the backward that produces it");
      pending_sends_.push_back(post_p2p(true, cs->grad_out, in.micro_batch, v - 1, true));
      send_buffers_.push_back(std::move(cs->grad_out));
      release_completed_sends();
      break;
    case InstrOp::reduce_grads: {
      const auto waiting = Clock::now();
      wait_sends();
      result.pipeline_wait_s += seconds_since(waiting);
      reduce_gradients();
      break;
    }
    case InstrOp::optimizer_step:
      for (std::size_t i = 0; i < mbs.size(); ++i)
        for (std::size_t k = 0; k < chunks_.size(); ++k)
          MTNLG_CHECK(mbs[i].chunks[k].backwarded,
                      str(where(), ": optimizer step before the backward of micro-batch ", i, " chunk ", k));
      optimizer_update(request, result);
      break;
  }
}

WorkHandle Engine::post_p2p(bool send, const Tensor& t, int micro_batch, int peer_virtual, bool gradient) {
  if (backend_.device().kind == DeviceKind::meta && !active(groups_.pipeline))
    return std::make_unique<NoTransfer>();
  MTNLG_CHECK(active(groups_.pipeline),
              "pipeline point-to-point needs a pipeline group of more than one stage");
  const int virtual_stages = options_.layout.stages * options_.layout.chunks;
  // Tagged by (micro-batch, receiving virtual stage, activation or gradient): unique within a step, and MPI
  // keeps messages with the same tag in order across steps. Activations flow to v+1, gradients to v−1.
  const int receiving_virtual = send ? peer_virtual : gradient ? peer_virtual - 1 : peer_virtual + 1;
  const int tag = ((micro_batch * virtual_stages) + receiving_virtual) * 2 + (gradient ? 1 : 0);
  const int peer_stage = peer_virtual % options_.layout.stages;
  return send ? groups_.pipeline->send(backend_, t, peer_stage, tag)
              : groups_.pipeline->recv(backend_, t, peer_stage, tag);
}

void Engine::load(MicroBatch& mb, int chunk, const std::string& split, std::int64_t first_sample) {
  MTNLG_CHECK(reader_ != nullptr, "the recipe has no [reader], so there is no data to train on");
  ChunkState& cs = mb.chunks[chunk];
  if (!mb.host.inputs.defined()) {
    mb.host = reader_->read(BatchRequest{split, first_sample, options_.micro_batch});
    MTNLG_CHECK(mb.host.inputs.defined() && mb.host.inputs.ndim() >= 1 &&
                    mb.host.inputs.dim(0) == options_.micro_batch,
                str(reader_->component_label(), " returned inputs ",
                    mb.host.inputs.defined() ? mb.host.inputs.describe() : "(none)", " for a micro-batch of ",
                    options_.micro_batch, " samples"));
  }
  if (first_virtual(chunk)) {
    cs.input = backend_.empty(mb.host.inputs.shape(), mb.host.inputs.dtype());
    backend_.upload(cs.input, mb.host.inputs.data());
  }
  if (last_virtual(chunk) && mb.host.targets.defined()) {
    mb.targets = backend_.empty(mb.host.targets.shape(), mb.host.targets.dtype());
    backend_.upload(mb.targets, mb.host.targets.data());
  }
  cs.loaded = true;
}

LayerStep Engine::layer_step(const MicroBatch& mb, int chunk, std::size_t i, int index,
                             std::int64_t first_sample, bool training, double loss_weight) const {
  return LayerStep{.backend = backend_,
                   .params = params_.layer_params(chunk_base_[chunk] + i),
                   .targets = chunks_[chunk].layers[i]->is_loss() ? &mb.targets : nullptr,
                   .micro_batch = index,
                   .first_sample = first_sample,
                   .training = training,
                   .need_input_grad = i > 0 || !first_virtual(chunk),  // token ids have no gradient
                   .loss_weight = loss_weight,
                   .tensor_group = active(groups_.tensor) ? groups_.tensor : nullptr};
}

void Engine::forward(MicroBatch& mb, int chunk, int index, std::int64_t first_sample, bool training) {
  ChunkState& cs = mb.chunks[chunk];
  Tensor x = cs.input;
  for (std::size_t i = 0; i < chunks_[chunk].layers.size(); ++i) {
    const LayerStep step = layer_step(mb, chunk, i, index, first_sample, training, 1.0);
    if (training && recomputes(chunk, i)) {
      // Full recomputation: what the layer saves goes as soon as it returns; its input stays for the rerun.
      cs.recompute_inputs[i] = x;
      SavedState discarded;
      x = chunks_[chunk].layers[i]->forward(step, x, discarded);
    } else {
      x = chunks_[chunk].layers[i]->forward(step, x, cs.saved[i]);
    }
  }
  cs.output = x;
  cs.input = Tensor();  // the first layer saved what it needs
  cs.forwarded = true;
}

void Engine::backward(MicroBatch& mb, int chunk, int index, std::int64_t first_sample, double loss_weight) {
  ChunkState& cs = mb.chunks[chunk];
  Tensor dy = cs.grad_in;
  for (std::size_t i = chunks_[chunk].layers.size(); i-- > 0;) {
    if (cs.recompute_inputs[i].defined()) {
      // The forward again, exactly as it first ran (same step, so the same dropout masks), for its saved
      // state only: one layer's state is alive at a time. Its output is not needed.
      const std::int64_t sample = options_.planted_bug == "recompute-other-dropout"
                                      ? first_sample + options_.micro_batch
                                      : first_sample;
      chunks_[chunk].layers[i]->forward(layer_step(mb, chunk, i, index, sample, true, 1.0),
                                        cs.recompute_inputs[i], cs.saved[i]);
      cs.recompute_inputs[i] = Tensor();
    }
    dy = chunks_[chunk].layers[i]->backward(layer_step(mb, chunk, i, index, first_sample, true, loss_weight),
                                            dy, cs.saved[i]);
    cs.saved[i].clear();
  }
  params_.accumulate_main_grads(chunk_params_[chunk]);
  cs.grad_out = dy;
  cs.grad_in = Tensor();
  if (last_virtual(chunk)) mb.targets = Tensor();
  cs.backwarded = true;
}

void Engine::release_completed_sends() {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < pending_sends_.size(); ++i) {
    if (pending_sends_[i]->test()) continue;
    pending_sends_[kept] = std::move(pending_sends_[i]);
    send_buffers_[kept] = std::move(send_buffers_[i]);
    ++kept;
  }
  pending_sends_.resize(kept);
  send_buffers_.resize(kept);
}

void Engine::wait_sends() {
  for (WorkHandle& w : pending_sends_) w->wait();
  pending_sends_.clear();
  send_buffers_.clear();
}

void Engine::plan_buckets() {
  // Buckets of about bucket_bytes over the flat gradient buffer, from its end: the backward pass finishes the
  // last layers first, so their bucket is posted while earlier layers are still computing.
  const auto& params = params_.params();
  std::vector<std::set<std::size_t>> users(params.size());
  for (std::size_t l = 0; l < backward_count_.size(); ++l)
    for (std::size_t p : params_.layer_param_indices(l)) users[p].insert(l);
  const std::size_t element = dtype_size(params_.update_buffers().grads.dtype());
  Bucket current;
  std::set<std::size_t> layers;
  const auto close = [&] {
    if (current.end > current.begin) {
      current.layers.assign(layers.begin(), layers.end());
      buckets_.push_back(std::move(current));
    }
    current = Bucket{};
    layers.clear();
  };
  for (std::size_t i = params.size(); i-- > 0;) {
    const StoredParam& p = params[i];
    const std::int64_t n = shape_numel(p.local_shape);
    if (current.end == current.begin) current.end = p.offset + n;
    current.begin = p.offset;
    layers.insert(users[i].begin(), users[i].end());
    current.deferred |= !p.spec.tie.empty() && options_.ties.count(p.spec.tie) > 0;
    if (static_cast<std::size_t>(current.end - current.begin) * element >= options_.bucket_bytes) close();
  }
  close();
}

void Engine::layer_backward_done(std::size_t flat_layer, int micro_batches) {
  if (buckets_.empty()) return;
  if (++backward_count_[flat_layer] != micro_batches) return;
  const Tensor grads = params_.update_buffers().grads;
  for (Bucket& b : buckets_) {
    if (b.work || b.deferred) continue;
    const bool ready = std::all_of(b.layers.begin(), b.layers.end(),
                                   [&](std::size_t l) { return backward_count_[l] == micro_batches; });
    if (ready)
      b.work =
          groups_.data->all_reduce(backend_, grads.sub_buffer(b.begin, {b.end - b.begin}), ReduceOp::sum);
  }
}

void Engine::reduce_gradients() {
  // 1. The tied embedding: its copies on the first and last stage each hold part of the gradient.
  if (active(groups_.embedding)) {
    std::vector<const StoredParam*> tied;
    for (const StoredParam& p : params_.params())
      if (!p.spec.tie.empty() && options_.ties.count(p.spec.tie) > 0) tied.push_back(&p);
    std::sort(tied.begin(), tied.end(), [](auto* a, auto* b) { return a->spec.tie < b->spec.tie; });
    for (const StoredParam* p : tied)
      groups_.embedding->all_reduce(backend_, p->update_grad(), ReduceOp::sum)->wait();
  }
  if (!active(groups_.data)) return;
  const Tensor grads = params_.update_buffers().grads;
  if (options_.zero) {
    // 2. ZeRO-1: each data-parallel rank receives the sum of its shard only.
    groups_.data->reduce_scatter(backend_, grads, shard_grads_)->wait();
    backend_.run(ops::copy,
                 ops::CopyArgs{shard_grads_, grads.sub_buffer(shard_begin_, {shard_end_ - shard_begin_})});
    return;
  }
  // 2. Buckets the backward pass has not posted yet (those holding a tied copy), then wait for all.
  for (Bucket& b : buckets_)
    if (!b.work)
      b.work =
          groups_.data->all_reduce(backend_, grads.sub_buffer(b.begin, {b.end - b.begin}), ReduceOp::sum);
  for (Bucket& b : buckets_) {
    b.work->wait();
    b.work.reset();
  }
}

double Engine::grad_norm() {
  // Each element once over the whole job: this rank's share of the counted parameters (with ZeRO-1 only its
  // shard; without, data-parallel rank 0 speaks for its identical replicas), summed over the world.
  const bool counts = options_.zero || options_.dp_rank == 0;
  std::vector<Tensor> pieces;
  if (counts) {
    for (const StoredParam& p : params_.params()) {
      if (!p.counts_in_norm) continue;
      const std::int64_t b = std::max(p.offset, shard_begin_);
      const std::int64_t e = std::min(p.offset + shape_numel(p.local_shape), shard_end_);
      if (b < e) pieces.push_back(params_.update_buffers().grads.sub_buffer(b, {e - b}));
    }
  }
  double local = 0.0;
  const DType dtype = params_.update_buffers().grads.dtype();
  if (!pieces.empty()) {
    const Tensor out = backend_.empty({static_cast<std::int64_t>(pieces.size())}, dtype);
    for (std::size_t i = 0; i < pieces.size(); ++i)
      backend_.run(ops::squared_norm,
                   ops::SquaredNormArgs{pieces[i], out.sub_buffer(static_cast<std::int64_t>(i), {1})});
    if (backend_.device().kind == DeviceKind::meta) return std::numeric_limits<double>::quiet_NaN();
    std::vector<double> sums(pieces.size());
    if (dtype == DType::f64) {
      backend_.download(sums.data(), out);
      backend_.synchronize();
    } else {
      MTNLG_CHECK(dtype == DType::f32, "gradient norms need f32 or f64 gradients");
      std::vector<float> f(pieces.size());
      backend_.download(f.data(), out);
      backend_.synchronize();
      std::copy(f.begin(), f.end(), sums.begin());
    }
    for (double s : sums) local += s;
  }
  return std::sqrt(sum_over_world(local));
}

void Engine::scale_grads(double factor) {
  const Tensor grads = params_.update_buffers().grads;
  if (shard_end_ > shard_begin_)
    backend_.run(ops::scale,
                 ops::ScaleArgs{grads.sub_buffer(shard_begin_, {shard_end_ - shard_begin_}), factor});
}

void Engine::optimizer_update(const StepRequest& request, StepResult& result) {
  if (options_.planted_bug == str("inf-gradient-at-step:", request.step) && options_.tp_rank == 0 &&
      options_.dp_rank == 0 && options_.layout.stage == 0) {
    // A test hook: one gradient element overflows on one rank, as an fp16 backward pass can.
    const Tensor grads = params_.update_buffers().grads;
    backend_.run(ops::fill,
                 ops::FillArgs{grads.sub_buffer(shard_begin_, {1}), std::numeric_limits<double>::infinity()});
  }
  // fp16: the gradients carry the loss scale; the update needs them unscaled.
  result.loss_scale = scaler_ ? scaler_->scale() : 1.0;
  if (scaler_) scale_grads(1.0 / scaler_->scale());
  result.grad_norm = grad_norm();
  if (scaler_) {
    // The norm is summed over every rank, so every rank sees the same overflow and skips the same step.
    const bool overflow = !std::isfinite(result.grad_norm);
    scaler_->update(overflow);
    if (overflow) {
      result.skipped = true;
      return;
    }
  }
  // Megatron's rule: scale by max_norm / (norm + 1e-6) when that is below 1.
  if (request.clip_grad > 0.0 && std::isfinite(result.grad_norm)) {
    const double coeff = request.clip_grad / (result.grad_norm + 1e-6);
    if (coeff < 1.0) scale_grads(coeff);
  }
  // The optimizer counts the updates it made (AdamW's bias correction), not the steps skipped.
  ++optimizer_updates_;
  if (optimizer_ != nullptr) optimizer_->step(backend_, OptimizerStep{optimizer_updates_, request.lr});
  if (options_.planted_bug == "tensor-replicas-drift" && options_.tp_rank == 1) {
    for (const StoredParam& p : params_.params())
      if (p.spec.tp_dim < 0) {
        backend_.run(ops::scale, ops::ScaleArgs{p.update_value(), 1.0 + 1e-12});
        break;
      }
  }
  if (options_.zero && active(groups_.data)) {
    // Every rank updated its shard: gather the whole parameter buffer back on every data-parallel rank. In
    // mixed precision that is the fp32 master weights, so that every rank holds all of them (checkpoints
    // read them), and then the 16-bit weights are rounded from them locally: twice the bytes of gathering
    // the 16-bit weights, as Megatron's distributed optimizer does, which would need sharded master weights
    // in checkpoints.
    const Tensor values = params_.update_buffers().values;
    groups_.data->all_gather(backend_, values.sub_buffer(shard_begin_, {shard_end_ - shard_begin_}), values)
        ->wait();
    params_.publish_master(0, values.numel());
  } else {
    // Mixed precision: the layers' 16-bit weights, rounded from the updated master weights.
    params_.publish_master(shard_begin_, shard_end_);
  }
}

double Engine::sum_over_world(double value) {
  return all_reduce_scalar(groups_.world, backend_, value, ReduceOp::sum);
}

double Engine::download_scalar(const Tensor& t) {
  MTNLG_CHECK(t.defined() && t.numel() == 1, "expected a one-element tensor");
  if (backend_.device().kind == DeviceKind::meta) return std::numeric_limits<double>::quiet_NaN();
  double value = 0.0;
  if (t.dtype() == DType::f64) {
    backend_.download(&value, t);
    backend_.synchronize();
  } else {
    MTNLG_CHECK(t.dtype() == DType::f32, "scalar results must be f32 or f64, got " + t.describe());
    float f = 0.0f;
    backend_.download(&f, t);
    backend_.synchronize();
    value = f;
  }
  return value;
}

}  // namespace mtnlg::host
