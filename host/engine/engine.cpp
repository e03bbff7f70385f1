#include "engine/engine.hpp"

#include <cmath>
#include <limits>

#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {
std::vector<std::vector<ParamSpec>> declared_params(const std::vector<Layer*>& layers) {
  std::vector<std::vector<ParamSpec>> out;
  for (Layer* l : layers) out.push_back(l->parameters());
  return out;
}
}  // namespace

Engine::Engine(Backend& backend, std::vector<Layer*> layers, std::vector<int> layer_indices,
               const Schedule& schedule, Optimizer* optimizer, Reader* reader, EngineOptions options)
    : backend_(backend),
      layers_(std::move(layers)),
      layer_indices_(std::move(layer_indices)),
      optimizer_(optimizer),
      reader_(reader),
      options_(options),
      schedule_(schedule),
      params_(backend, declared_params(layers_), layer_indices_, options.dtype, TensorParallelSlot{}) {
  MTNLG_CHECK(options_.layout.stages == 1,
              "not yet: pipeline parallelism (more than one stage) arrives with the 3D-parallelism work");
  MTNLG_CHECK(options_.layout.chunks == 1, "not yet: virtual pipeline stages (chunks > 1)");
  MTNLG_CHECK(!layers_.empty(), "the model has no layers");
  MTNLG_CHECK(layers_.back()->is_loss(),
              str("the last layer of the model (", layers_.back()->component_label(),
                  ") is not a loss layer; end the model stack with one"));
  for (std::size_t i = 0; i + 1 < layers_.size(); ++i)
    MTNLG_CHECK(!layers_[i]->is_loss(), str(layers_[i]->component_label(), " at position ", layer_indices_[i],
                                            " is a loss layer; only the last layer may be one"));
  MTNLG_CHECK(options_.micro_batch >= 1, "micro_batch must be >= 1");
  params_.initialize(options_.seed);
  if (optimizer_ != nullptr) optimizer_->attach(backend_, params_.optimizer_params(), params_.flat_buffers());
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

StepResult Engine::train_step(const StepRequest& request) {
  const auto& stream = instructions(request.micro_batches);
  std::vector<MicroBatch> mbs(static_cast<std::size_t>(request.micro_batches));
  for (auto& mb : mbs) mb.saved.resize(layers_.size());
  StepResult result;
  result.samples = static_cast<std::int64_t>(options_.micro_batch) * request.micro_batches;
  params_.zero_grads();
  for (std::size_t i = 0; i < stream.size(); ++i) execute(stream[i], i, request, mbs, result);

  for (std::size_t i = 0; i < mbs.size(); ++i)
    MTNLG_CHECK(mbs[i].backwarded,
                str("the schedule's stream ended without a backward pass for micro-batch ", i));
  double sum = 0.0;
  for (auto& mb : mbs) sum += download_scalar(mb.loss);
  result.loss = sum / static_cast<double>(mbs.size());
  return result;
}

double Engine::evaluate(const std::string& split, std::int64_t first_sample, int micro_batches) {
  MTNLG_CHECK(micro_batches >= 1, "evaluation needs at least one micro-batch");
  double sum = 0.0;
  for (int m = 0; m < micro_batches; ++m) {
    MicroBatch mb;
    mb.saved.resize(layers_.size());
    const std::int64_t first = first_sample + static_cast<std::int64_t>(m) * options_.micro_batch;
    load(mb, split, first);
    forward(mb, m, first, /*training=*/false);
    sum += download_scalar(mb.loss);
  }
  return sum / micro_batches;
}

void Engine::execute(const Instruction& in, std::size_t position, const StepRequest& request,
                     std::vector<MicroBatch>& mbs, StepResult& result) {
  const auto where = [&] { return str("instruction ", position, " (", instruction_str(in), ")"); };
  if (in.op == InstrOp::forward || in.op == InstrOp::backward || in.op == InstrOp::load_micro_batch) {
    MTNLG_CHECK(in.micro_batch >= 0 && in.micro_batch < request.micro_batches,
                str(where(), ": micro-batch out of range [0, ", request.micro_batches, ")"));
  }
  const std::int64_t mb_first =
      request.first_sample + static_cast<std::int64_t>(in.micro_batch) * options_.micro_batch;
  switch (in.op) {
    case InstrOp::load_micro_batch:
      load(mbs[in.micro_batch], "train", mb_first);
      break;
    case InstrOp::forward:
      MTNLG_CHECK(mbs[in.micro_batch].loaded, where() + ": forward before the micro-batch was loaded");
      MTNLG_CHECK(!mbs[in.micro_batch].forwarded, where() + ": second forward of the same micro-batch");
      forward(mbs[in.micro_batch], in.micro_batch, mb_first, /*training=*/true);
      break;
    case InstrOp::backward:
      MTNLG_CHECK(mbs[in.micro_batch].forwarded, where() + ": backward before forward");
      MTNLG_CHECK(!mbs[in.micro_batch].backwarded, where() + ": second backward of the same micro-batch");
      backward(mbs[in.micro_batch], in.micro_batch, mb_first, request.micro_batches);
      break;
    case InstrOp::reduce_grads:
      // One stage, one data-parallel rank: gradients are already complete. The 3D-parallel work adds the
      // data-parallel all-reduce here.
      break;
    case InstrOp::optimizer_step:
      for (std::size_t i = 0; i < mbs.size(); ++i)
        MTNLG_CHECK(mbs[i].backwarded,
                    str(where(), ": optimizer step before the backward of micro-batch ", i));
      result.grad_norm = grad_norm();
      // Megatron's rule: scale by max_norm / (norm + 1e-6) when that is below 1.
      if (request.clip_grad > 0.0 && std::isfinite(result.grad_norm)) {
        const double coeff = request.clip_grad / (result.grad_norm + 1e-6);
        if (coeff < 1.0) scale_grads(coeff);
      }
      if (optimizer_ != nullptr) optimizer_->step(backend_, OptimizerStep{request.step, request.lr});
      break;
    case InstrOp::send_activation:
    case InstrOp::recv_activation:
    case InstrOp::send_grad:
    case InstrOp::recv_grad:
      fail(where() + ": not yet: point-to-point pipeline communication arrives with the 3D-parallelism work");
  }
}

void Engine::load(MicroBatch& mb, const std::string& split, std::int64_t first_sample) {
  MTNLG_CHECK(reader_ != nullptr, "the recipe has no [reader], so there is no data to train on");
  mb.host = reader_->read(BatchRequest{split, first_sample, options_.micro_batch});
  MTNLG_CHECK(
      mb.host.inputs.defined() && mb.host.inputs.ndim() >= 1 && mb.host.inputs.dim(0) == options_.micro_batch,
      str(reader_->component_label(), " returned inputs ",
          mb.host.inputs.defined() ? mb.host.inputs.describe() : "(none)", " for a micro-batch of ",
          options_.micro_batch, " samples"));
  mb.inputs = backend_.empty(mb.host.inputs.shape(), mb.host.inputs.dtype());
  backend_.upload(mb.inputs, mb.host.inputs.data());
  if (mb.host.targets.defined()) {
    mb.targets = backend_.empty(mb.host.targets.shape(), mb.host.targets.dtype());
    backend_.upload(mb.targets, mb.host.targets.data());
  }
  mb.loaded = true;
}

void Engine::forward(MicroBatch& mb, int index, std::int64_t first_sample, bool training) {
  Tensor x = mb.inputs;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const LayerStep ctx{backend_,
                        params_.layer_params(i),
                        layers_[i]->is_loss() ? &mb.targets : nullptr,
                        index,
                        first_sample,
                        training,
                        i > 0};
    x = layers_[i]->forward(ctx, x, mb.saved[i]);
  }
  mb.loss = x;
  mb.inputs = Tensor();  // the first layer saved what it needs
  mb.forwarded = true;
}

void Engine::backward(MicroBatch& mb, int index, std::int64_t first_sample, int micro_batches) {
  // Each micro-batch's mean loss weighs 1/M in the step's loss, so its gradients do too.
  const double loss_weight = 1.0 / micro_batches;
  Tensor dy;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    const LayerStep ctx{backend_,
                        params_.layer_params(i),
                        layers_[i]->is_loss() ? &mb.targets : nullptr,
                        index,
                        first_sample,
                        true,
                        i > 0,
                        loss_weight};
    dy = layers_[i]->backward(ctx, dy, mb.saved[i]);
    mb.saved[i].clear();
  }
  mb.targets = Tensor();
  mb.backwarded = true;
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

void Engine::scale_grads(double factor) {
  for (const FlatBuffer& flat : params_.flat_buffers())
    if (flat.grads.numel() > 0) backend_.run(ops::scale, ops::ScaleArgs{flat.grads, factor});
}

double Engine::grad_norm() {
  double total = 0.0;
  for (const FlatBuffer& flat : params_.flat_buffers()) {
    if (flat.grads.numel() == 0) continue;
    Tensor out = backend_.empty({1}, flat.grads.dtype());
    backend_.run(ops::squared_norm, ops::SquaredNormArgs{flat.grads, out});
    total += download_scalar(out);
  }
  return std::sqrt(total);
}

}  // namespace mtnlg::host
