#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "plugin_host/registry.hpp"

namespace mtnlg::host {

struct TrainOptions {
  std::filesystem::path recipe;
  std::vector<std::string> overrides;
  std::optional<std::int64_t> steps;  // replaces train.steps
  std::filesystem::path run_dir;      // empty: runs/<recipe name>
  bool traffic_report = false;        // every rank writes RUN_DIR/traffic/rank-N.json (communicator bytes)
  std::filesystem::path resume;       // a run directory: continue from its latest sharded checkpoint
};

// `mtnlg train`: builds this rank's stage from the recipe and runs train.steps optimizer steps, with the LR
// and batch-size schedules, gradient clipping, validation every train.eval_interval steps, a log line per
// step and RUN_DIR/metrics.jsonl. The resolved recipe is saved as RUN_DIR/recipe.toml. Sharded checkpoints
// go to RUN_DIR/checkpoints every train.save_interval steps, at the end, and on SIGTERM (then the run stops)
// or SIGUSR1 (it goes on); the consolidated model for generate/eval/convert to RUN_DIR/checkpoint at the end.
int train(Registry& registry, const TrainOptions& options);

}  // namespace mtnlg::host
