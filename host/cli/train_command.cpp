#include "cli/train_command.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "checkpoint/durable_file.hpp"
#include "checkpoint/training_checkpoint.hpp"
#include "cli/logging.hpp"
#include "engine/scalar_all_reduce.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"
#include "mtnlg/training_schedules.hpp"
#include "pipeline/schedule_simulator.hpp"
#include "recipe/override.hpp"
#include "recipe/print_recipe.hpp"
#include "training/gather_checkpoint.hpp"
#include "training/launch.hpp"
#include "training/metrics_log.hpp"
#include "training/process_groups.hpp"
#include "training/recipe_schema.hpp"
#include "training/recompute_policy.hpp"
#include "training/stage.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

namespace {

// Set by SIGTERM and SIGUSR1 (a cluster's preemption warning, or a user asking for a checkpoint); read
// between steps.
volatile std::sig_atomic_t g_signal = 0;

extern "C" void remember_signal(int sig) {
  g_signal = sig;
}

// The signal any rank received since the last step (0: none), so that every rank saves and stops together:
// a launcher may deliver it to some ranks only, or at different moments.
int signal_over_world(ProcessGroup* world, Backend& backend) {
  const int sig = static_cast<int>(all_reduce_scalar(world, backend, g_signal, ReduceOp::max));
  g_signal = 0;
  return sig;
}

// Installs the checkpoint-on-signal handlers for the lifetime of a training run.
class SignalHandlers {
 public:
  SignalHandlers() {
    previous_term_ = std::signal(SIGTERM, remember_signal);
    previous_usr1_ = std::signal(SIGUSR1, remember_signal);
  }
  ~SignalHandlers() {
    std::signal(SIGTERM, previous_term_);
    std::signal(SIGUSR1, previous_usr1_);
  }
  SignalHandlers(const SignalHandlers&) = delete;
  SignalHandlers& operator=(const SignalHandlers&) = delete;

 private:
  void (*previous_term_)(int);
  void (*previous_usr1_)(int);
};

// MTNLG_PLANT_BUG=kill-during-save:N (a test hook): rank 0 dies by SIGKILL in the middle of saving step N.
std::int64_t planted_kill_step() {
  const char* bug = std::getenv("MTNLG_PLANT_BUG");
  const std::string prefix = "kill-during-save:";
  if (bug == nullptr || std::string(bug).rfind(prefix, 0) != 0) return 0;
  return std::atoll(bug + prefix.size());
}

template <class T>
std::unique_ptr<T> optional_component(const Registry& registry, const Table& recipe, const char* section) {
  const Value* v = recipe.find(section);
  if (v == nullptr) return nullptr;
  const Table& t = v->as_table();
  const ComponentRecord& record = registry.require(T::kKind, t.get_string("name"), t.pos);
  return registry.create_as<T>(record, CreateArgs{t, recipe});
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
  replace_file_atomically(file, json + "}}\n");
}

// Whether the GPT attention core takes its fused path in training, which stores no (T, T) tensor, so that
// selective recomputation has nothing to redo there (mirrors AttentionCoreLayer::fused; only the hardware
// FLOPs in metrics.jsonl depend on it).
bool attention_core_fused(const Table& recipe, Backend& backend) {
  const Table& model = recipe.get_table("model");
  const DType dtype = train_dtype(recipe);
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

  // --resume takes a run directory (its latest checkpoint; the run goes on there) or a checkpoint directory
  // (say, one `mtnlg convert` resharded; the run goes on in --run-dir). Resolved before anything is written,
  // so a resume that cannot start leaves the run directory as it was.
  fs::path resume_from;
  const bool resume_run = !options.resume.empty() && !fs::exists(options.resume / "manifest.toml");
  if (!options.resume.empty()) resume_from = resolve_training_checkpoint(options.resume);
  MTNLG_CHECK(!resume_run || options.run_dir.empty() || options.run_dir == options.resume,
              str("--resume ", options.resume.string(), " continues that run directory; --run-dir ",
                  options.run_dir.string(),
                  " would be another (give a checkpoint directory to --resume to "
                  "continue it elsewhere)"));
  const fs::path run_dir = resume_run                ? options.resume
                           : options.run_dir.empty() ? fs::path("runs") / options.recipe.stem()
                                                     : options.run_dir;
  const fs::path checkpoints = run_dir / "checkpoints";
  const bool writer = rank == 0;  // one rank writes the run directory
  if (writer) {
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    MTNLG_CHECK(!ec, str("cannot create the run directory ", run_dir.string(), ": ", ec.message()));
    replace_file_atomically(run_dir / "recipe.toml", recipe::print_recipe(recipe));
  }

  Stage stage(recipe, registry, StageOptions{.topology = topology, .groups = groups.view()});
  TrainingPosition resumed;
  if (!resume_from.empty()) {
    resumed = load_training_checkpoint(resume_from, recipe, stage);
    log_info("resumed from ", resume_from.string(), ": step ", resumed.step, ", ", resumed.consumed_samples,
             " samples consumed");
  }
  const auto lr_schedule = optional_component<LrSchedule>(registry, recipe, "lr_schedule");
  const auto batch_schedule = optional_component<BatchSchedule>(registry, recipe, "batch_schedule");
  std::unique_ptr<MetricsLog> metrics;
  if (writer) metrics = std::make_unique<MetricsLog>(run_dir / "metrics.jsonl", resumed.step);

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
  progress.step = resumed.step;
  progress.consumed_samples = resumed.consumed_samples;
  progress.consumed_tokens = resumed.consumed_tokens;
  if (resumed.step >= steps) {
    log_info("the checkpoint is at step ", resumed.step, " and train.steps is ", steps,
             ": nothing to train (give a larger --steps to go on)");
    return 0;
  }
  const std::int64_t save_interval = train.get_int("save_interval");
  const SaveOptions save_options{.keep = static_cast<int>(train.get_int("keep_checkpoints")),
                                 .kill_at_step = planted_kill_step()};
  const SignalHandlers signal_handlers;
  std::int64_t saved_step = resumed.step;
  const auto save = [&](std::int64_t step) {
    save_training_checkpoint(checkpoints, recipe, stage, groups.world.get(),
                             {step, progress.consumed_samples, progress.consumed_tokens}, save_options);
    saved_step = step;
  };
  std::int64_t last_batch = 0;
  for (std::int64_t step = resumed.step + 1; step <= steps; ++step) {
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
    // Every rank, for the measured bubble (tools/bench/pipeline-bubble).
    log_debug("pipeline: stage ", topology.pp_rank(), " (tp ", topology.tp_rank(), ", dp ",
              topology.dp_rank(), "), step ", step, ": ", seconds, " s, waited ", r.pipeline_wait_s,
              " s for pipeline peers; forward ", r.forward_s, " s, backward ", r.backward_s, " s");
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
    m.loss_scale = r.loss_scale;
    m.skipped = r.skipped;
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
    log_info(line, m.val_loss ? str(" | val loss ", *m.val_loss) : std::string(),
             stage.engine().loss_scaler() ? str(" | loss scale ", r.loss_scale) : std::string(),
             r.skipped ? str(" | skipped: the gradients overflowed, loss scale now ",
                             stage.engine().loss_scaler()->scale())
                       : std::string());
    MTNLG_CHECK(std::isfinite(r.loss), str("the loss is ", r.loss, " at step ", step,
                                           "; lower optimizer.lr or check the data (metrics so far are in ",
                                           (run_dir / "metrics.jsonl").string(), ")"));
    const int sig = signal_over_world(groups.world.get(), stage.backend());
    if ((save_interval > 0 && step % save_interval == 0) || sig != 0) save(step);
    if (sig == SIGTERM) {
      log_info("stopped by SIGTERM after step ", step, "; continue with: mtnlg train ",
               options.recipe.string(), " --resume ", run_dir.string());
      return 128 + SIGTERM;
    }
  }
  if (saved_step != steps) save(steps);
  if (options.traffic_report && comm != nullptr)
    write_traffic_report(run_dir / "traffic" / str("rank-", rank, ".json"), groups, topology, steps);
  save_gathered_checkpoint(run_dir / "checkpoint", recipe, stage, groups.world.get(),
                           {steps, progress.consumed_samples});
  log_info("done: ", steps, " steps, ", progress.consumed_tokens, " tokens; metrics in ",
           (run_dir / "metrics.jsonl").string(), ", model checkpoint in ", (run_dir / "checkpoint").string(),
           ", training checkpoints in ", checkpoints.string());
  return 0;
}

}  // namespace

}  // namespace mtnlg::host
