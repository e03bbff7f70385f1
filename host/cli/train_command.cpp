#include "cli/train_command.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"
#include "mtnlg/training_schedules.hpp"
#include "recipe/override.hpp"
#include "recipe/print_recipe.hpp"
#include "training/checkpoint.hpp"
#include "training/metrics_log.hpp"
#include "training/recipe_schema.hpp"
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

}  // namespace

int train(Registry& registry, const TrainOptions& options) {
  std::vector<std::string> overrides = options.overrides;
  if (options.steps) overrides.push_back(str("train.steps=", *options.steps));
  const Table recipe = resolve_recipe(options.recipe, overrides, registry);
  const Table& model = recipe.get_table("model");
  const Table& train = recipe.get_table("train");

  const fs::path run_dir =
      options.run_dir.empty() ? fs::path("runs") / options.recipe.stem() : options.run_dir;
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  MTNLG_CHECK(!ec, str("cannot create the run directory ", run_dir.string(), ": ", ec.message()));
  write_atomically(run_dir / "recipe.toml", recipe::print_recipe(recipe));

  Stage stage(recipe, registry);
  const auto lr_schedule = optional_component<LrSchedule>(registry, recipe, "lr_schedule");
  const auto batch_schedule = optional_component<BatchSchedule>(registry, recipe, "batch_schedule");
  MetricsLog metrics(run_dir / "metrics.jsonl");

  const std::int64_t steps = train.get_int("steps"), seq = model.get_int("seq_len");
  const std::int64_t micro_batch = train.get_int("micro_batch"), final_batch = train.get_int("global_batch");
  const std::int64_t eval_interval = train.get_int("eval_interval"), eval_iters = train.get_int("eval_iters");
  const double clip = train.get_float("clip_grad"), peak_lr = stage.optimizer()->base_lr();
  log_info("training ", options.recipe.string(), " for ", steps, " steps; run directory ", run_dir.string());

  TrainingProgress progress;
  std::int64_t last_batch = 0;
  for (std::int64_t step = 1; step <= steps; ++step) {
    std::int64_t batch = batch_schedule ? batch_schedule->global_batch(final_batch, progress) : final_batch;
    // Megatron's decrease_batch_size_if_needed: a ramp size that does not split into whole micro-batches is
    // rounded down to one that does.
    const std::int64_t rounded = std::max(micro_batch, batch / micro_batch * micro_batch);
    if (rounded != batch && batch != last_batch)
      log_info("global batch ", batch, " rounded down to ", rounded, " (a multiple of micro_batch ",
               micro_batch, ")");
    last_batch = batch;
    batch = rounded;
    const double lr = lr_schedule ? lr_schedule->lr(peak_lr, progress) : peak_lr;

    const auto start = std::chrono::steady_clock::now();
    const StepResult r = stage.engine().train_step({.step = step,
                                                    .lr = lr,
                                                    .first_sample = progress.consumed_samples,
                                                    .micro_batches = static_cast<int>(batch / micro_batch),
                                                    .clip_grad = clip});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
    m.tflops_per_device = gpt_flops_per_iteration(static_cast<double>(batch), static_cast<double>(seq),
                                                  static_cast<double>(model.get_int("layers")),
                                                  static_cast<double>(model.get_int("hidden")),
                                                  static_cast<double>(model.get_int("padded_vocab"))) /
                          seconds / 1e12;
    if (eval_interval > 0 && (step % eval_interval == 0 || step == steps))
      m.val_loss = stage.engine().evaluate("valid", 0, static_cast<int>(eval_iters));
    metrics.write(m);
    char line[256];
    std::snprintf(
        line, sizeof line, "step %5lld | loss %8.5f | lr %.3e | batch %lld | grad norm %.4f | %.0f tok/s",
        static_cast<long long>(step), r.loss, lr, static_cast<long long>(batch), r.grad_norm, m.tokens_per_s);
    log_info(line, m.val_loss ? str(" | val loss ", *m.val_loss) : std::string());
    MTNLG_CHECK(std::isfinite(r.loss), str("the loss is ", r.loss, " at step ", step,
                                           "; lower optimizer.lr or check the data (metrics so far are in ",
                                           (run_dir / "metrics.jsonl").string(), ")"));
  }
  save_checkpoint(run_dir / "checkpoint", recipe, stage.engine().params(), stage.backend(),
                  {steps, progress.consumed_samples});
  log_info("done: ", steps, " steps, ", progress.consumed_tokens, " tokens; metrics in ",
           (run_dir / "metrics.jsonl").string(), ", checkpoint in ", (run_dir / "checkpoint").string());
  return 0;
}

}  // namespace mtnlg::host
