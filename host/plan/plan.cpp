#include "plan/plan.hpp"

#include <algorithm>

#include "mtnlg/schedule.hpp"
#include "mtnlg/str.hpp"
#include "training/recipe_schema.hpp"
#include "training/recompute_policy.hpp"

namespace mtnlg::host::plan {

namespace {

std::vector<std::string> with(std::vector<std::string> overrides, const std::string& more) {
  overrides.push_back(more);
  return overrides;
}

std::vector<StageMeasure> measure_stages(const Table& recipe, const Registry& registry, int world,
                                         const MeasureOptions& options) {
  const Topology layout = make_topology(recipe, world, 0);
  std::vector<StageMeasure> out;
  for (int s = 0; s < layout.pipeline; ++s)
    out.push_back(
        measure_stage(recipe, registry, make_topology(recipe, world, layout.rank_of(0, 0, s)), options));
  return out;
}

PipelineReport simulate(const Table& recipe, const Registry& registry, const Topology& topology,
                        int micro_batches, const InstructionCosts& costs) {
  const Value& name = *recipe.find_path("parallel.schedule");
  const ComponentRecord& record = registry.require("schedule", name.as_string(), name.pos);
  const auto schedule =
      registry.create_as<Schedule>(record, CreateArgs{recipe.get_table("schedule"), recipe});
  return simulate_schedule(*schedule, {topology.pipeline, topology.chunks, micro_batches}, costs);
}

}  // namespace

Plan make_plan(Registry& registry, const std::filesystem::path& recipe_file,
               const std::vector<std::string>& overrides, const Cluster& cluster, int nodes, int gpus) {
  MTNLG_CHECK(nodes >= 1, "--nodes must be at least 1");
  MTNLG_CHECK(gpus >= 0 && gpus <= nodes * cluster.gpus_per_node,
              str("--gpus ", gpus, ": ", nodes, " node(s) of ", cluster.name, " have ",
                  nodes * cluster.gpus_per_node, " GPUs"));
  Plan plan;
  plan.recipe_file = recipe_file.string();
  plan.cluster = cluster;
  plan.nodes = nodes;
  const int world = gpus > 0 ? gpus : nodes * cluster.gpus_per_node;
  const Table recipe = resolve_recipe(recipe_file, overrides, registry);
  plan.topology = make_topology(recipe, world, 0);
  const Table& train = recipe.get_table("train");
  plan.micro_batches =
      static_cast<int>(train.get_int("global_batch") / (train.get_int("micro_batch") * plan.topology.data));
  plan.schedule = recipe.find_path("parallel.schedule")->as_string();
  plan.zero = recipe.get_table("parallel").get_int("zero") == 1;
  const RecomputePolicy recompute = RecomputePolicy::from_recipe(recipe);
  plan.recompute = recompute.describe();
  const bool recomputes = recompute.mode != RecomputeMode::none;
  const Table other = resolve_recipe(
      recipe_file, with(overrides, recomputes ? "train.recompute=\"none\"" : "train.recompute=\"full\""),
      registry);
  plan.other_recompute = RecomputePolicy::from_recipe(other).describe();
  const Table zero_flipped = resolve_recipe(
      recipe_file, with(overrides, plan.zero ? "parallel.zero=0" : "parallel.zero=1"), registry);

  const std::vector<StageMeasure> measures = measure_stages(recipe, registry, world, {.traffic = true});
  const std::vector<StageMeasure> others = measure_stages(other, registry, world, {.traffic = true});
  const std::vector<StageMeasure> zeros = measure_stages(zero_flipped, registry, world, {.run_step = false});
  plan.usable_bytes = (cluster.value("gpu_memory_gb") - cluster.value("reserved_memory_gb")) * 1e9;
  plan.fits = true;
  for (std::size_t s = 0; s < measures.size(); ++s) {
    plan.stages.push_back({measures[s], others[s].activations(), zeros[s].setup});
    if (static_cast<double>(measures[s].peak) > plan.usable_bytes) plan.fits = false;
  }
  if (!plan.fits) {
    double worst_other = 0.0, worst_zero = 0.0;
    for (const StageMemory& m : plan.stages) {
      worst_other = std::max(worst_other, static_cast<double>(m.measure.setup + m.other_activations));
      worst_zero = std::max(worst_zero, static_cast<double>(m.other_zero_setup + m.measure.activations()));
    }
    if (!recomputes && worst_other <= plan.usable_bytes)
      plan.advice.push_back("train.recompute = \"full\" fits");
    if (!plan.zero && worst_zero <= plan.usable_bytes)
      plan.advice.push_back("parallel.zero = 1 (ZeRO-1 over the data-parallel ranks) fits");
    plan.advice.push_back(
        "more pipeline stages (parallel.pipeline) or tensor-parallel ranks (parallel.tensor) "
        "divide the parameters and the activations further");
    if (train.get_int("micro_batch") > 1)
      plan.advice.push_back(
          "a smaller train.micro_batch lowers the activations of each micro-batch in flight");
  }

  plan.costs = instruction_costs(recipe, plan.topology, cluster, measures, {});
  plan.pipeline = simulate(recipe, registry, plan.topology, plan.micro_batches, plan.costs);
  plan.iteration_s = plan.pipeline.makespan;
  plan.model_flops = model_flops(recipe);
  plan.peak_tflops = peak_tflops(recipe, cluster);
  plan.tflops_per_gpu = plan.model_flops / (plan.iteration_s * world) / 1e12;

  plan.ablation.push_back({"as planned", plan.iteration_s, true});
  double busiest = 0.0;
  for (const StageReport& r : plan.pipeline.stages) busiest = std::max(busiest, r.busy);
  plan.ablation.push_back({"without the pipeline bubble", busiest, plan.topology.pipeline > 1});
  const auto without = [&](const char* label, CostTerms terms, bool applies) {
    const InstructionCosts c = instruction_costs(recipe, plan.topology, cluster, measures, terms);
    plan.ablation.push_back(
        {label, simulate(recipe, registry, plan.topology, plan.micro_batches, c).makespan, applies});
  };
  without("without tensor-parallel communication", {.tp_comm = false}, plan.topology.tensor > 1);
  without("without data-parallel communication", {.dp_comm = false},
          plan.topology.data > 1 || plan.topology.pipeline > 1);
  without("without pipeline transfers", {.p2p = false}, plan.topology.pipeline > 1);
  if (recomputes) {
    const Topology other_topology = make_topology(other, world, 0);
    const InstructionCosts c = instruction_costs(other, other_topology, cluster, others, {});
    plan.ablation.push_back({"without recomputation",
                             simulate(other, registry, other_topology, plan.micro_batches, c).makespan,
                             true});
  } else {
    plan.ablation.push_back({"without recomputation", plan.iteration_s, false});
  }
  return plan;
}

}  // namespace mtnlg::host::plan
