#include "cli/check_command.hpp"

#include <iostream>
#include <map>
#include <set>

#include "mtnlg/str.hpp"
#include "pipeline/schedule_simulator.hpp"
#include "plan/stage_measure.hpp"
#include "recipe/print_recipe.hpp"
#include "training/recipe_schema.hpp"
#include "training/recompute_policy.hpp"
#include "training/stage.hpp"
#include "training/topology.hpp"

namespace mtnlg::host {

namespace {
std::string bytes_str(std::size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// The pipeline of a `world`-rank launch, as rank 0 sees the layout, with the schedule's streams simulated.
struct PipelineCheck {
  Topology topology;
  std::string schedule;
  int micro_batches = 1;  // per data-parallel rank per step
  InstructionCosts costs;
  PipelineReport report;
};

// Needs only the schedule component, not a stage: every stage's stream is data the schedule generates.
PipelineCheck check_pipeline(const Registry& registry, const Table& recipe, int world) {
  PipelineCheck check;
  check.topology = make_topology(recipe, world, 0);
  const Value& name = *recipe.find_path("parallel.schedule");
  check.schedule = name.as_string();
  const ComponentRecord& record = registry.require("schedule", check.schedule, name.pos);
  const auto schedule =
      registry.create_as<Schedule>(record, CreateArgs{recipe.get_table("schedule"), recipe});
  const Table& train = recipe.get_table("train");
  check.micro_batches =
      static_cast<int>(train.get_int("global_batch") / (train.get_int("micro_batch") * check.topology.data));
  check.report = simulate_schedule(
      *schedule, {check.topology.pipeline, check.topology.chunks, check.micro_batches}, check.costs);
  return check;
}

void print_pipeline(const PipelineCheck& check) {
  const auto plural = [](int n, const char* one, const char* many) {
    return str(n, " ", n == 1 ? one : many);
  };
  std::cout << "  pipeline   " << check.topology.describe() << ", schedule " << check.schedule << ", "
            << plural(check.micro_batches, "micro-batch", "micro-batches")
            << " per data-parallel rank per step\n";
  for (std::size_t s = 0; s < check.report.stages.size(); ++s) {
    const StageReport& r = check.report.stages[s];
    std::cout << "    stage " << s << "  " << plural(r.instructions, "instruction", "instructions") << ", "
              << plural(r.forwards, "forward", "forwards") << " / "
              << plural(r.backwards, "backward", "backwards") << ", " << plural(r.sends, "send", "sends")
              << " / " << plural(r.receives, "receive", "receives") << ", peak "
              << plural(r.peak_in_flight, "micro-batch", "micro-batches") << " in flight\n";
  }
  char bubble[16];
  std::snprintf(bubble, sizeof bubble, "%.1f%%", 100.0 * check.report.bubble);
  std::cout << "  bubble     " << bubble << " of the step (simulated: forward " << check.costs.forward
            << ", backward " << check.costs.backward
            << " per chunk and micro-batch; sends, receives, loads free)\n";
}
// Every (tp, pp) rank of the layout (data-parallel rank 0: the others build the same graph) on the meta
// backend; tensor-parallel ranks of a stage must agree on their shapes, and tp 0 of each stage runs one step.
void check_every_rank(const Registry& registry, const Table& recipe, const Topology& layout) {
  std::cout
      << "  ranks      every (tp, pp) rank's stage instantiated on the meta backend; one step per stage "
         "(tp 0), peak memory:\n";
  const auto partition = partition_layers(recipe, layout.virtual_stages());
  for (int pp = 0; pp < layout.pipeline; ++pp) {
    const Topology first = make_topology(recipe, layout.world, layout.rank_of(0, 0, pp));
    const plan::StageMeasure m = plan::measure_stage(recipe, registry, first);
    for (int tp = 1; tp < layout.tensor; ++tp) {
      const Topology other = make_topology(recipe, layout.world, layout.rank_of(tp, 0, pp));
      const plan::StageMeasure o = plan::measure_stage(recipe, registry, other, {.run_step = false});
      MTNLG_CHECK(o.shapes == m.shapes,
                  str("pipeline stage ", pp, ": tensor-parallel rank ", tp, " holds ", o.shapes.size(),
                      " parameter slices of other shapes than rank 0's (", m.shapes.size(),
                      "); a layer splits its parameters unevenly"));
    }
    std::string layers;
    int count = 0;
    for (int v = pp; v < layout.virtual_stages(); v += layout.pipeline)
      for (const StackEntry& e : partition[v]) {
        if (count++ < 4) layers += str(layers.empty() ? "" : ", ", e.index, " ", e.layer);
      }
    if (count > 4) layers += str(", ... (", count, " layers)");
    std::cout << "    stage " << pp << "  " << layers << ": " << m.local_params
              << " parameters per rank, set-up " << bytes_str(m.setup) << ", step peak " << bytes_str(m.peak)
              << "\n";
  }
}
}  // namespace

int check_recipe(Registry& registry, const std::filesystem::path& file,
                 const std::vector<std::string>& overrides, bool print, int world, bool no_data) {
  const Table recipe = resolve_recipe(file, overrides, registry);
  if (print) {
    std::cout << recipe::print_recipe(recipe);
    return 0;
  }
  // Before the stage below executes a stream: a schedule whose streams cannot run is refused first.
  const PipelineCheck pipeline = check_pipeline(registry, recipe, world);
  const Table& model = recipe.get_table("model");
  const Table& train = recipe.get_table("train");
  // What world rank 0 builds: its stage's layers, on the meta backend (shapes and memory, no data).
  Stage stage(recipe, registry, plan::meta_stage_options(pipeline.topology, no_data));
  const AllocStats setup = stage.backend().alloc_stats();
  const Topology& topo = pipeline.topology;

  std::cout << file.string() << ": valid\n";
  if (topo.world > 1)
    std::cout << "  layout     " << topo.describe() << "; below, world " << topo.coordinates()
              << ": pipeline stage 0 of " << topo.pipeline << "\n";
  std::cout << "  model      " << model.get_int("layers") << " layers, hidden " << model.get_int("hidden")
            << ", " << model.get_int("heads") << " heads, seq " << model.get_int("seq_len") << ", vocab "
            << model.get_int("vocab_size") << " (padded " << model.get_int("padded_vocab") << ")\n";
  std::map<int, std::int64_t> per_layer;
  for (const auto& p : stage.engine().params().params())
    per_layer[p.layer_index] += shape_numel(p.spec.shape);
  std::cout << "  stack      ";
  for (std::size_t i = 0; i < stage.layers().size(); ++i) {
    const int index = stage.layer_indices()[i];
    std::cout << (i ? ", " : "") << stage.layers()[i]->component_label() << " [" << per_layer[index] << "]";
  }
  const std::string dtype = train.get_string("dtype");
  const std::size_t param_bytes =
      static_cast<std::size_t>(stage.engine().params().local_numel()) * dtype_size(train_dtype(recipe));
  std::int64_t model_numel = 0;
  std::set<std::string> ties;
  for (const auto& layer : stage.model_params())
    for (const ParamSpec& p : layer)
      if (p.tie.empty() || ties.insert(p.tie).second) model_numel += shape_numel(p.shape);
  std::cout << "\n  parameters " << model_numel << " in the model; "
            << (topo.world > 1 ? "rank 0 holds " : "") << stage.engine().params().local_numel() << " ("
            << dtype << ": " << bytes_str(param_bytes) << " values + " << bytes_str(param_bytes)
            << " gradients"
            << (stage.engine().params().mixed()
                    ? str(", f32: ",
                          bytes_str(2 * 4 * static_cast<std::size_t>(stage.engine().params().local_numel())),
                          " master weights and main gradients")
                    : std::string())
            << ")\n";
  std::cout << "  batch      global " << train.get_int("global_batch") << " = micro-batch "
            << train.get_int("micro_batch") << " x " << stage.micro_batches()
            << (stage.micro_batches() == 1 ? " micro-batch" : " micro-batches")
            << (topo.data > 1 ? str(" x ", topo.data, " data-parallel ranks") : std::string()) << "\n";
  const auto& stream = stage.engine().instructions(stage.micro_batches());
  std::cout << "  schedule   " << recipe.find_path("parallel.schedule")->as_string() << ", stage 0 of "
            << topo.pipeline << ": " << stream.size() << " instructions per step:";
  for (std::size_t i = 0; i < stream.size() && i < 8; ++i) std::cout << " " << instruction_str(stream[i]);
  std::cout << (stream.size() > 8 ? " ..." : "") << "\n";
  std::cout << "  memory     after set-up: " << bytes_str(setup.current_bytes)
            << " (parameters, gradients, optimizer state)\n";
  if (recipe.contains("reader")) {
    stage.engine().train_step(
        {.step = 1, .lr = stage.optimizer()->base_lr(), .micro_batches = stage.micro_batches()});
    const AllocStats step = stage.backend().alloc_stats();
    std::cout << "  memory     one training step (meta backend): peak " << bytes_str(step.peak_bytes) << ", "
              << step.allocations - setup.allocations << " allocations; "
              << bytes_str(step.peak_bytes - setup.current_bytes)
              << " above set-up (activations and temporaries, recompute "
              << RecomputePolicy::from_recipe(recipe).describe() << ")\n";
  } else {
    std::cout << "  memory     one training step: not simulated (the recipe has no [reader] to give input "
                 "shapes)\n";
  }
  print_pipeline(pipeline);
  if (topo.world > 1) check_every_rank(registry, recipe, topo);
  if (no_data) std::cout << "  data       not opened (--no-data): a synthetic stand-in gave the shapes\n";
  return 0;
}

}  // namespace mtnlg::host
