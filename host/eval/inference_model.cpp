#include "eval/inference_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "eval/model_logits.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"
#include "training/checkpoint_model.hpp"
#include "training/launch.hpp"
#include "training/recipe_schema.hpp"

namespace mtnlg::host::eval {

namespace {

// The checkpoint's recipe on the inference layout: tensor × pipeline × the data-parallel replicas the world
// leaves. train.global_batch is the training run's and means nothing here; it is scaled by the replica count
// so that the layout's check (whole micro-batches on every replica) cannot refuse a replica count.
Table layout_recipe(Registry& registry, const std::filesystem::path& checkpoint,
                    const InferenceLayout& layout, int world) {
  MTNLG_CHECK(layout.tensor >= 1 && layout.pipeline >= 1, "--tensor and --pipeline must be at least 1");
  const int model_parallel = layout.tensor * layout.pipeline;
  MTNLG_CHECK(world % model_parallel == 0,
              str("the world of ", world, world == 1 ? " rank" : " ranks", " is not a multiple of --tensor ",
                  layout.tensor, " x --pipeline ", layout.pipeline, " = ", model_parallel,
                  " ranks per model replica: launch a multiple of ", model_parallel,
                  " ranks (mpirun -np N) or change the layout"));
  const int replicas = world / model_parallel;
  const Table single = single_rank_recipe_of(registry, checkpoint);  // fails naming a non-checkpoint
  const std::int64_t global_batch = single.find_path("train.global_batch")->as_int();
  return resolve_recipe(checkpoint / "recipe.toml",
                        {str("parallel.tensor=", layout.tensor), str("parallel.pipeline=", layout.pipeline),
                         str("parallel.data=", replicas), "parallel.virtual_stages=1",
                         "parallel.stage_layers=[]", str("train.global_batch=", global_batch * replicas)},
                        registry);
}

Tensor upload_tokens(Backend& be, std::span<const std::int32_t> tokens, std::int64_t b, std::int64_t t) {
  MTNLG_CHECK(static_cast<std::int64_t>(tokens.size()) == b * t, "internal: a ragged batch of tokens");
  Tensor x = be.empty({b, t}, DType::i32);
  be.upload(x, tokens.data());
  return x;
}

}  // namespace

InferenceModel::InferenceModel(Registry& registry, const std::filesystem::path& checkpoint,
                               const InferenceLayout& layout) {
  const int world = world_from_environment();
  // Everything up to here reads only the command line and the checkpoint's recipe: every rank fails alike.
  recipe_ = layout_recipe(registry, checkpoint, layout, world);
  comm_ = make_communicator(registry, recipe_, world);
  try {
    const Topology topology = make_topology(recipe_, world, comm_ ? comm_->rank() : 0);
    if (comm_ != nullptr) {
      comm_->set_timeout(recipe_.find_path("parallel.timeout")->as_float());
      groups_ = ProcessGroups::create(*comm_, topology);
    }
    stage_ = std::make_unique<Stage>(
        recipe_, registry, StageOptions{.inference = true, .topology = topology, .groups = groups_.view()});
    if (world == 1)
      load_checkpoint_parameters(checkpoint, stage_->engine().params(), stage_->backend());
    else
      load_checkpoint_slices(checkpoint, stage_->engine().params(), stage_->backend(), topology.tp_rank(),
                             topology.tensor);
  } catch (const std::exception& e) {
    abort_job(e);
  }
}

InferenceModel::~InferenceModel() = default;

Tensor InferenceModel::logits(std::span<const std::int32_t> tokens, std::int64_t b, std::int64_t t,
                              std::vector<SavedState>* cache, std::int64_t decode_position) {
  Backend& be = backend();
  const Tensor x = upload_tokens(be, tokens, b, t);
  Tensor targets = be.empty({b, t}, DType::i32);  // placeholders: the loss layer needs some
  be.run(ops::fill, ops::FillArgs{targets, 0.0});
  std::vector<SavedState>& saved = cache != nullptr ? *cache : saved_;
  if (cache == nullptr) saved.clear();
  stage_->engine().forward_only(x, targets, saved, decode_position);
  if (!holds_logits()) return {};
  const SavedState& last = saved.back();
  MTNLG_CHECK(last.contains("logits"),
              "the model's last layer keeps no logits; evaluation and generation need an LM head");
  const Tensor local = last.get("logits");  // (b·t, padded_vocab / TP): this rank's vocabulary columns
  const int tp = topology().tensor;
  if (tp == 1) return local;
  // Gathered as (TP, b·t, V/TP), then each row's slices side by side: (b·t, TP, V/TP) = (b·t, V).
  const std::int64_t n = local.dim(0), cols = local.dim(1);
  Tensor gathered = be.empty({tp, n, cols}, local.dtype());
  groups_.tensor->all_gather(be, local, gathered)->wait();
  Tensor whole = be.empty({n, tp, cols}, local.dtype());
  be.run(ops::copy, ops::CopyArgs{gathered.transpose(0, 1), whole});
  return whole.reshape({n, tp * cols});
}

double InferenceModel::loss(std::span<const std::int32_t> tokens, std::span<const std::int32_t> targets,
                            std::int64_t b, std::int64_t t) {
  Backend& be = backend();
  const Tensor x = upload_tokens(be, tokens, b, t), y = upload_tokens(be, targets, b, t);
  saved_.clear();
  const Tensor out = stage_->engine().forward_only(x, y, saved_);
  saved_.clear();
  if (!holds_logits()) return std::numeric_limits<double>::quiet_NaN();
  MTNLG_CHECK(out.numel() == 1, "the model does not end in a loss layer");
  return download_rows(be, out.reshape({1, 1}), 0, 1).front();
}

std::vector<double> InferenceModel::sum_over_world(std::vector<double> values) {
  if (comm_ == nullptr || values.empty()) return values;
  Backend& be = backend();
  Tensor t = be.empty({static_cast<std::int64_t>(values.size())}, DType::f64);
  be.upload(t, values.data());
  groups_.world->all_reduce(be, t, ReduceOp::sum)->wait();
  be.download(values.data(), t);
  be.synchronize();
  return values;
}

void InferenceModel::abort_job(const std::exception& error) {
  if (comm_ == nullptr) throw;  // called from the handler of `error`
  std::fprintf(stderr, "mtnlg: error: rank %d: %s\n", comm_->rank(), error.what());
  std::fflush(stderr);
  comm_->abort(1);
}

}  // namespace mtnlg::host::eval
