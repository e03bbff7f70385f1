#pragma once
// `mtnlg plan`: a recipe on N nodes of a cluster, before anyone books them. Memory per pipeline stage from
// the layer plugins and the engine on the meta backend (one training step simulated at the full batch, so the
// schedule's peak in-flight micro-batches are what they really are); iteration time from the schedule
// plugin's instruction streams simulated with first-principles costs (cost_model.hpp).
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/schedule_simulator.hpp"
#include "plan/cluster.hpp"
#include "plan/cost_model.hpp"
#include "plan/stage_measure.hpp"
#include "plugin_host/registry.hpp"
#include "training/topology.hpp"

namespace mtnlg::host::plan {

struct StageMemory {
  StageMeasure measure;               // the recipe as it is
  std::size_t other_activations = 0;  // activations with the other recomputation (none <-> full)
  std::size_t other_zero_setup = 0;   // set-up with ZeRO-1 flipped
  std::size_t total() const { return measure.peak; }
};

struct IterationTime {
  std::string label;  // "as planned", "without the pipeline bubble", ...
  double seconds = 0.0;
  bool applies = true;  // false: the term is absent from this recipe (e.g. no data parallelism)
};

struct Plan {
  std::string recipe_file;
  Cluster cluster;
  int nodes = 0;
  Topology topology;
  int micro_batches = 0;  // per data-parallel rank per step, at the full global batch
  std::string schedule;
  std::string recompute;        // the recipe's, described
  std::string other_recompute;  // the one the memory table compares with
  bool zero = false;
  std::vector<StageMemory> stages;
  double usable_bytes = 0.0;  // per GPU
  bool fits = false;
  std::vector<std::string> advice;  // what to change when it does not fit
  InstructionCosts costs;           // as planned
  PipelineReport pipeline;          // the schedule simulated with them
  double model_flops = 0.0;         // per iteration
  double peak_tflops = 0.0;         // the GPU's, for train.dtype
  double iteration_s = 0.0;
  double tflops_per_gpu = 0.0;
  std::vector<IterationTime> ablation;  // the iteration with each term removed in turn
};

// Resolves the recipe (file + overrides) for `gpus` ranks (0: nodes × gpus_per_node) and plans it. Errors
// name the recipe, the cluster file or the layout.
Plan make_plan(Registry& registry, const std::filesystem::path& recipe_file,
               const std::vector<std::string>& overrides, const Cluster& cluster, int nodes, int gpus = 0);

}  // namespace mtnlg::host::plan
