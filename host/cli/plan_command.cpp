#include "cli/plan_command.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "checkpoint/durable_file.hpp"
#include "mtnlg/str.hpp"
#include "plan/plan.hpp"

namespace mtnlg::host {

namespace {

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string scientific(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

std::string gib(double bytes) {
  return fixed(bytes / (1024.0 * 1024.0 * 1024.0), 1);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

std::string seconds_str(double s) {
  return s >= 1.0 ? fixed(s, 2) + " s" : fixed(s * 1e3, 2) + " ms";
}

void print_memory(const plan::Plan& p) {
  std::cout
      << "\nmemory per GPU, GiB (tensor-parallel rank 0 of each stage; one training step at the full batch "
         "on the meta backend)\n";
  std::cout << "  stage  params  grads  fp32 master  optimizer  activations   total  | ZeRO-1 "
            << (p.zero ? "off" : "on ") << "  | recompute " << p.other_recompute << "\n";
  const auto row = [&](const plan::StageMemory& m) {
    const plan::StageMeasure& s = m.measure;
    std::cout << pad(std::to_string(s.stage), 7) << pad(gib(s.parameters), 8) << pad(gib(s.gradients), 7)
              << pad(gib(s.master), 13) << pad(gib(s.optimizer), 11) << pad(gib(s.activations()), 13)
              << pad(gib(s.peak), 8) << "  | " << pad(gib(m.other_zero_setup + s.activations()), 10) << "  | "
              << gib(s.setup + m.other_activations) << "\n";
  };
  const std::size_t n = p.stages.size();
  for (std::size_t i = 0; i < n; ++i) {
    // Long pipelines: the first three, the last two and the worst; the middle stages repeat.
    if (n > 8 && i >= 3 && i + 2 < n) {
      if (i == 3) std::cout << "    ... stages 3 to " << n - 3 << " (--json lists every stage)\n";
      continue;
    }
    row(p.stages[i]);
  }
  std::size_t worst = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (p.stages[i].measure.peak > p.stages[worst].measure.peak) worst = i;
  const double usable = p.usable_bytes;
  std::cout << "  usable per GPU: " << gib(usable) << " GiB (" << fixed(p.cluster.value("gpu_memory_gb"), 0)
            << " GB less " << fixed(p.cluster.value("reserved_memory_gb"), 1) << " GB reserved)\n";
  const double peak = static_cast<double>(p.stages[worst].measure.peak);
  std::cout << "  verdict: " << (p.fits ? "fits" : "DOES NOT FIT") << " — the fullest stage is " << worst
            << " at " << gib(peak) << " GiB, " << fixed(100.0 * peak / usable, 0) << "% of usable\n";
  double other_worst = 0.0;
  for (const auto& m : p.stages)
    other_worst = std::max(other_worst, static_cast<double>(m.measure.setup + m.other_activations));
  std::cout << "  with recompute " << p.other_recompute << ": "
            << (other_worst <= usable ? "fits" : "does not fit") << " (fullest stage " << gib(other_worst)
            << " GiB)\n";
  for (const std::string& a : p.advice) std::cout << "  to fit: " << a << "\n";
}

void print_time(const plan::Plan& p) {
  const int world = p.topology.world;
  std::cout << "\ntime per iteration (the " << p.schedule
            << " streams of every stage simulated with these costs)\n";
  const auto& c = p.costs;
  const int P = p.topology.pipeline;
  const std::vector<int> shown =
      P > 2 ? std::vector<int>{0, 1, P - 1} : (P == 2 ? std::vector<int>{0, 1} : std::vector<int>{0});
  for (int s : shown) {
    double f = 0.0, b = 0.0;
    for (int v = s; v < p.topology.virtual_stages(); v += P) {
      f += c.forward_by_virtual[v];
      b += c.backward_by_virtual[v];
    }
    std::cout << "  stage " << s << ": forward " << seconds_str(f) << ", backward " << seconds_str(b)
              << " per micro-batch; gradient reduction " << seconds_str(c.reduce_grads_by_stage[s])
              << ", optimizer " << seconds_str(c.optimizer_step_by_stage[s]) << "\n";
  }
  if (P > 1) std::cout << "  pipeline transfer of one activation: " << seconds_str(c.transfer) << "\n";
  double idle = 0.0;
  for (const auto& r : p.pipeline.stages) idle += p.pipeline.makespan - r.busy;
  std::cout << "  bubble: " << fixed(100.0 * idle / (P * p.pipeline.makespan), 1)
            << "% of the stages' time is spent waiting\n";
  std::cout << "  iteration: " << fixed(p.iteration_s, 2) << " s; model FLOPs " << scientific(p.model_flops)
            << " per iteration -> " << fixed(p.tflops_per_gpu, 1) << " TFLOP/s per GPU over " << world
            << " GPUs (" << fixed(100.0 * p.tflops_per_gpu / p.peak_tflops, 1) << "% of peak)\n";
  std::cout << "\nablation: the iteration with one term removed\n";
  for (const auto& a : p.ablation) {
    std::cout << "  " << a.label << std::string(a.label.size() < 40 ? 40 - a.label.size() : 1, ' ');
    if (!a.applies)
      std::cout << "(not in this layout)\n";
    else
      std::cout << pad(fixed(a.seconds, 2), 9) << " s  "
                << pad(fixed(100.0 * (a.seconds / p.iteration_s - 1.0), 1), 6) << "%\n";
  }
}

void print_assumptions(const plan::Plan& p) {
  std::cout << "\nassumptions (cluster '" << p.cluster.name << "', " << p.cluster.file.string()
            << "; --assume KEY=VALUE overrides any)\n";
  for (const auto& [key, a] : p.cluster.assumptions)
    std::cout << "  " << key << " = " << a.value << (a.unit.empty() ? "" : " " + a.unit) << "  — " << a.source
              << "\n";
}

nlohmann::json to_json(const plan::Plan& p) {
  nlohmann::json j;
  j["recipe"] = p.recipe_file;
  j["cluster"] = p.cluster.name;
  j["nodes"] = p.nodes;
  j["gpus"] = p.topology.world;
  j["layout"] = {{"tensor", p.topology.tensor},
                 {"pipeline", p.topology.pipeline},
                 {"data", p.topology.data},
                 {"virtual_stages", p.topology.chunks}};
  j["schedule"] = p.schedule;
  j["micro_batches"] = p.micro_batches;
  j["recompute"] = p.recompute;
  for (const auto& m : p.stages) {
    const auto& s = m.measure;
    j["memory"]["stages"].push_back({{"stage", s.stage},
                                     {"parameters_bytes", s.parameters},
                                     {"gradients_bytes", s.gradients},
                                     {"master_bytes", s.master},
                                     {"optimizer_bytes", s.optimizer},
                                     {"activations_bytes", s.activations()},
                                     {"total_bytes", s.peak},
                                     {"total_with_zero_flipped_bytes", m.other_zero_setup + s.activations()},
                                     {"total_with_other_recompute_bytes", s.setup + m.other_activations}});
  }
  j["memory"]["usable_bytes"] = p.usable_bytes;
  j["memory"]["fits"] = p.fits;
  j["memory"]["advice"] = p.advice;
  j["time"]["iteration_s"] = p.iteration_s;
  j["time"]["model_flops"] = p.model_flops;
  j["time"]["tflops_per_gpu"] = p.tflops_per_gpu;
  double idle = 0.0;
  for (const auto& r : p.pipeline.stages) idle += p.pipeline.makespan - r.busy;
  j["time"]["bubble"] = idle / (p.topology.pipeline * p.pipeline.makespan);
  for (std::size_t s = 0; s < p.pipeline.stages.size(); ++s) {
    const StageReport& r = p.pipeline.stages[s];
    j["time"]["stages"].push_back(
        {{"stage", s}, {"busy_s", r.busy}, {"idle_fraction", 1.0 - r.busy / p.pipeline.makespan}});
  }
  j["time"]["transfer_s"] = p.costs.transfer;
  j["time"]["forward_s"] = p.costs.forward_by_virtual;
  j["time"]["backward_s"] = p.costs.backward_by_virtual;
  j["time"]["reduce_grads_s"] = p.costs.reduce_grads_by_stage;
  j["time"]["optimizer_step_s"] = p.costs.optimizer_step_by_stage;
  for (const auto& a : p.ablation)
    j["time"]["ablation"].push_back({{"term", a.label}, {"iteration_s", a.seconds}, {"applies", a.applies}});
  for (const auto& [key, a] : p.cluster.assumptions)
    j["assumptions"][key] = {{"value", a.value}, {"unit", a.unit}, {"source", a.source}, {"where", a.where}};
  return j;
}

}  // namespace

int plan_recipe(Registry& registry, const PlanOptions& options) {
  plan::Cluster cluster = plan::load_cluster(options.cluster);
  plan::apply_assumptions(cluster, options.assumptions);
  const plan::Plan p =
      plan::make_plan(registry, options.recipe, options.overrides, cluster, options.nodes, options.gpus);
  std::cout << p.recipe_file << " on " << p.nodes << " x " << cluster.name << " (" << p.topology.world
            << " GPUs): " << p.topology.describe() << ", " << p.schedule << ", " << p.micro_batches
            << " micro-batches per data-parallel rank per iteration, recompute " << p.recompute << "\n";
  print_memory(p);
  print_time(p);
  print_assumptions(p);
  if (!options.json.empty()) replace_file_atomically(options.json, to_json(p).dump(2) + "\n");
  return 0;
}

}  // namespace mtnlg::host
