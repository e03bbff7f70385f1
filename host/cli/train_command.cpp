#include "cli/train_command.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "cli/logging.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"
#include "mtnlg/training_schedules.hpp"
#include "pipeline/schedule_simulator.hpp"
#include "recipe/override.hpp"
#include "recipe/print_recipe.hpp"
#include "training/gather_checkpoint.hpp"
#include "training/metrics_log.hpp"
#include "training/process_groups.hpp"
#include "training/recipe_schema.hpp"
#include "training/recompute_policy.hpp"
#include "training/stage.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

namespace {

// Written to a temporary name and renamed, so the run directory never holds half a recipe.
void write_atomically(const fs::path& file, const std::string& text) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    MTNLG_CHECK(out.good(), str("cannot write ", tmp.string(), ": check that the run directory is writable"));
  }
  fs::rename(tmp, file);
}

template <class T>
std::unique_ptr<T> optional_component(const Registry& registry, const Table& recipe, const char* section) {
  const Value* v = recipe.find(section);
  if (v == nullptr) return nullptr;
  const Table& t = v->as_table();
  const ComponentRecord& record = registry.require(T::kKind, t.get_string("name"), t.pos);
  return registry.create_as<T>(record, CreateArgs{t, recipe});
}

// The world size mpirun (or srun) launched us with; 1 when run directly.
int world_from_environment() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  return 1;
}

// The communicator parallel.communicator names (validated with the recipe), for a job of more than one rank.
// It gets the whole recipe: comm/nccl picks its GPU from [backend] as the cuda backend does.
std::unique_ptr<Communicator> make_communicator(const Registry& registry, const Table& recipe, int world) {
  if (world == 1) return nullptr;
  const Value& name = *recipe.find_path("parallel.communicator");
  const ComponentRecord& record = registry.require("communicator", name.as_string(), name.pos);
  const Table no_params;
  auto comm = registry.create_as<Communicator>(record, CreateArgs{no_params, recipe});
  MTNLG_CHECK(comm->size() == world, str("the environment says ", world, " ranks but communicator '",
                                         record.name, "' has ", comm->size()));
  return comm;
}

int train_on_rank(Registry& registry, const TrainOptions& options, const Table& recipe, Communicator* comm);

// What this rank's communicator carried, per group and operation (bytes as a ring algorithm moves them), for
// tools/bench/parallel-cpu to set against the analytic count.
void write_traffic_report(const fs::path& file, const ProcessGroups& groups, const Topology& t,
                          std::int64_t steps) {
  std::string json = str("{\"rank\": ", t.rank, ", \"tp\": ", t.tp_rank(), ", \"dp\": ", t.dp_rank(),
                         ", \"pp\": ", t.pp_rank(), ", \"steps\": ", steps, ", \"groups\": {");
  const ProcessGroup* all[] = {groups.tensor.get(), groups.data.get(), groups.pipeline.get(),
                               groups.embedding.get(), groups.world.get()};
  bool first_group = true;
  for (const ProcessGroup* g : all) {
    if (g == nullptr) continue;
    const CommTraffic traffic = g->traffic();
    json += str(first_group ? "" : ", ", "\"", g->name(), "\": {\"size\": ", g->size(), ", \"bytes\": {");
    bool first = true;
    for (const auto& [op, bytes] : traffic.bytes)
      json += str(first ? "" : ", ", "\"", op, "\": ", bytes), first = false;
    json += "}, \"operations\": {";
    first = true;
    for (const auto& [op, n] : traffic.operations)
      json += str(first ? "" : ", ", "\"", op, "\": ", n), first = false;
    json += "}}";
    first_group = false;
  }
  fs::create_directories(file.parent_path());
  write_atomically(file, json + "}}\n");
}

// Whether the GPT attention core takes its fused path in training, which stores no (T, T) tensor, so that
// selective recomputation has nothing to redo there (mirrors AttentionCoreLayer::fused; only the hardware
// FLOPs in metrics.jsonl depend on it).
bool attention_core_fused(const Table& recipe, Backend& backend) {
  const Table& model = recipe.get_table("model");
  const DType dtype = *dtype_from_name(recipe.get_table("train").get_string("dtype"));
  return model.get_float("attention_dropout") == 0.0 &&
         model.get_int("hidden") / model.get_int("heads") <= ops::kFlashAttentionMaxHeadDim &&
         backend.supports(ops::flash_attention.name, dtype) &&
         backend.supports(ops::flash_attention_backward.name, dtype);
}

// The backend's allocations during the first step, above what was live before it (parameters, gradients,
// optimizer state): the stage's peak activation memory. Set-up allocates nothing it frees again, so the
// step's peak is a new peak of the ledger; every step of a constant batch allocates alike. At debug level
// every rank logs it (tools/bench/recompute-cpu reads it).
void log_first_step_memory(const Topology& topology, const RecomputePolicy& recompute,
                           const AllocStats& before, const AllocStats& after) {
  if (after.peak_bytes <= before.peak_bytes) {
    log_debug("memory: pipeline stage ", topology.pp_rank(), ", first step: no new peak (", after.peak_bytes,
              " B reached in set-up)");
    return;
  }
  log_debug("memory: pipeline stage ", topology.pp_rank(), " (tp ", topology.tp_rank(), ", dp ",
            topology.dp_rank(), "), first step: peak ", after.peak_bytes - before.current_bytes,
            " B above the ", before.current_bytes,
            " B live before it (activations and temporaries; recompute ", recompute.describe(), ")");
}

}  // namespace

int train(Registry& registry, const TrainOptions& options) {
  std::vector<std::string> overrides = options.overrides;
  if (options.steps) overrides.push_back(str("train.steps=", *options.steps));
  // Before the communicator, which the recipe names. Every rank reads the same recipe, so an error here
  // stops every rank alike and none is left waiting.
  const Table recipe = resolve_recipe(options.recipe, overrides, registry);
  const std::unique_ptr<Communicator> comm = make_communicator(registry, recipe, world_from_environment());
  if (comm == nullptr) return train_on_rank(registry, options, recipe, nullptr);
  try {
    return train_on_rank(registry, options, recipe, comm.get());
  } catch (const std::exception& e) {
    // The other ranks may be waiting for this one in a collective: end the whole job, not just this rank.
    std::fprintf(stderr, "mtnlg: error: rank %d: %s\n", comm->rank(), e.what());
    std::fflush(stderr);
    comm->abort(1);
  }
}

namespace {

int train_on_rank(Registry& registry, const TrainOptions& options, const Table& recipe, Communicator* comm) {
  const Table& model = recipe.get_table("model");
  const Table& train = recipe.get_table("train");

  const int world = comm ? comm->size() : 1, rank = comm ? comm->rank() : 0;
  const Topology topology = make_topology(recipe, world, rank);
  if (topology.pipeline > 1) {
    // The schedule's streams for every stage, simulated together before any rank runs one: a schedule that
    // would deadlock or mis-order micro-batches is refused here, on every rank, instead of hanging the job.
    const Value& name = *recipe.find_path("parallel.schedule");
    const auto schedule =
        registry.create_as<Schedule>(registry.require("schedule", name.as_string(), name.pos),
                                     CreateArgs{recipe.get_table("schedule"), recipe});
    const std::int64_t unit = train.get_int("micro_batch") * topology.data;
    simulate_schedule(*schedule, {topology.pipeline, topology.chunks,
                                  static_cast<int>(train.get_int("global_batch") / unit)});
  }
  ProcessGroups groups;
  if (comm != nullptr) {
    comm->set_timeout(recipe.find_path("parallel.timeout")->as_float());
    groups = ProcessGroups::create(*comm, topology);
  }

  const fs::path run_dir =
      options.run_dir.empty() ? fs::path("runs") / options.recipe.stem() : options.run_dir;
  const bool writer = rank == 0;  // one rank writes the run directory
  if (writer) {
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    MTNLG_CHECK(!ec, str("cannot create the run directory ", run_dir.string(), ": ", ec.message()));
    write_atomically(run_dir / "recipe.toml", recipe::print_recipe(recipe));
  }

  Stage stage(recipe, registry, StageOptions{.topology = topology, .groups = groups.view()});
  const auto lr_schedule = optional_component<LrSchedule>(registry, recipe, "lr_schedule");
  const auto batch_schedule = optional_component<BatchSchedule>(registry, recipe, "batch_schedule");
  std::unique_ptr<MetricsLog> metrics;
  if (writer) metrics = std::make_unique<MetricsLog>(run_dir / "metrics.jsonl");

  const std::int64_t steps = train.get_int("steps"), seq = model.get_int("seq_len");
  const std::int64_t micro_batch = train.get_int("micro_batch"), final_batch = train.get_int("global_batch");
  const std::int64_t eval_interval = train.get_int("eval_interval"), eval_iters = train.get_int("eval_iters");
  const double clip = train.get_float("clip_grad"), peak_lr = stage.optimizer()->base_lr();
  const RecomputePolicy recompute = RecomputePolicy::from_recipe(recipe);
  log_info(
      "training ", options.recipe.string(), " for ", steps, " steps on ", topology.describe(),
      recompute.mode == RecomputeMode::none ? "" : str(", activation recomputation ", recompute.describe()),
      "; run directory ", run_dir.string());
  const double layers = static_cast<double>(model.get_int("layers")),
               hidden = static_cast<double>(model.get_int("hidden"));
  // Selective recomputation redoes every block's attention core, unless the core takes its fused path.
  const bool cores_recomputed =
      recompute.mode == RecomputeMode::selective && !attention_core_fused(recipe, stage.backend());
  const double core_blocks = cores_recomputed ? layers : 0.0;
  // Each step's batch splits into whole micro-batches on every data-parallel rank.
  const std::int64_t batch_unit = micro_batch * topology.data;

  TrainingProgress progress;
  std::int64_t last_batch = 0;
  for (std::int64_t step = 1; step <= steps; ++step) {
    std::int64_t batch = batch_schedule ? batch_schedule->global_batch(final_batch, progress) : final_batch;
    // Megatron's decrease_batch_size_if_needed: a ramp size that does not split into whole micro-batches on
    // every data-parallel rank is rounded down to one that does.
    const std::int64_t rounded = std::max(batch_unit, batch / batch_unit * batch_unit);
    if (rounded != batch && batch != last_batch)
      log_info("global batch ", batch, " rounded down to ", rounded, " (a multiple of micro_batch ",
               micro_batch, " x ", topology.data, " data-parallel ranks)");
    last_batch = batch;
    batch = rounded;
    const double lr = lr_schedule ? lr_schedule->lr(peak_lr, progress) : peak_lr;

    // A test hook: world rank 1 stops (SIGSTOP) before step 2, as a hung process would, so a test can show
    // the other ranks end the job with the stalled rank named instead of hanging.
    if (step == 2 && rank == 1 && std::getenv("MTNLG_PLANT_BUG") != nullptr &&
        std::string(std::getenv("MTNLG_PLANT_BUG")) == "stop-rank-1")
      std::raise(SIGSTOP);
    const AllocStats before = stage.backend().alloc_stats();
    const auto start = std::chrono::steady_clock::now();
    const StepResult r = stage.engine().train_step({.step = step,
                                                    .lr = lr,
                                                    .first_sample = progress.consumed_samples,
                                                    .micro_batches = static_cast<int>(batch / batch_unit),
                                                    .clip_grad = clip});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (step == 1) log_first_step_memory(topology, recompute, before, stage.backend().alloc_stats());
    progress.step = step;
    progress.consumed_samples += batch;
    progress.consumed_tokens = progress.consumed_samples * seq;

    StepMetrics m;
    m.step = step;
    m.tokens = progress.consumed_tokens;
    m.loss = r.loss;
    m.lr = lr;
    m.batch = batch;
    m.grad_norm = r.grad_norm;
    m.step_time_s = seconds;
    m.tokens_per_s = static_cast<double>(batch * seq) / seconds;
    const double model_flops =
        gpt_flops_per_iteration(static_cast<double>(batch), static_cast<double>(seq), layers, hidden,
                                static_cast<double>(model.get_int("padded_vocab")));
    const double recompute_flops = gpt_recompute_flops_per_iteration(
        static_cast<double>(batch), static_cast<double>(seq), hidden,
        static_cast<double>(recompute.full_blocks(model.get_int("layers"))), core_blocks);
    m.tflops_per_device = model_flops / seconds / 1e12 / world;
    m.hardware_tflops_per_device = (model_flops + recompute_flops) / seconds / 1e12 / world;
    if (eval_interval > 0 && (step % eval_interval == 0 || step == steps))
      m.val_loss = stage.engine().evaluate("valid", 0, static_cast<int>(eval_iters));
    if (metrics) metrics->write(m);
    char line[256];
    std::snprintf(
        line, sizeof line, "step %5lld | loss %8.5f | lr %.3e | batch %lld | grad norm %.4f | %.0f tok/s",
        static_cast<long long>(step), r.loss, lr, static_cast<long long>(batch), r.grad_norm, m.tokens_per_s);
    log_info(line, m.val_loss ? str(" | val loss ", *m.val_loss) : std::string());
    MTNLG_CHECK(std::isfinite(r.loss), str("the loss is ", r.loss, " at step ", step,
                                           "; lower optimizer.lr or check the data (metrics so far are in ",
                                           (run_dir / "metrics.jsonl").string(), ")"));
  }
  if (options.traffic_report && comm != nullptr)
    write_traffic_report(run_dir / "traffic" / str("rank-", rank, ".json"), groups, topology, steps);
  save_gathered_checkpoint(run_dir / "checkpoint", recipe, stage, groups.world.get(),
                           {steps, progress.consumed_samples});
  log_info("done: ", steps, " steps, ", progress.consumed_tokens, " tokens; metrics in ",
           (run_dir / "metrics.jsonl").string(), ", checkpoint in ", (run_dir / "checkpoint").string());
  return 0;
}

}  // namespace

}  // namespace mtnlg::host
