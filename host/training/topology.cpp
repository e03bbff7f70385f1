#include "training/topology.hpp"

#include <algorithm>

#include "mtnlg/str.hpp"
#include "recipe/recipe_error.hpp"

namespace mtnlg::host {

std::string Topology::describe() const {
  std::string s =
      str("TP ", tensor, " x PP ", pipeline, " x DP ", data, " (", world, world == 1 ? " rank" : " ranks");
  if (chunks > 1) s += str(", ", chunks, " virtual stages per pipeline rank");
  return s + ")";
}

std::string Topology::coordinates() const {
  return str("rank ", rank, " (tp ", tp_rank(), ", dp ", dp_rank(), ", pp ", pp_rank(), ")");
}

Topology make_topology(const Table& recipe, int world, int rank) {
  const Table& parallel = recipe.get_table("parallel");
  Topology t;
  t.world = world;
  t.rank = rank;
  t.tensor = static_cast<int>(parallel.get_int("tensor"));
  t.pipeline = static_cast<int>(parallel.get_int("pipeline"));
  t.chunks = static_cast<int>(parallel.get_int("virtual_stages"));
  if (t.chunks > 1 && t.pipeline == 1)
    throw recipe::RecipeError(
        parallel.find("virtual_stages")->pos,
        str("parallel.virtual_stages = ", t.chunks,
            " needs pipeline parallelism (parallel.pipeline > 1): virtual stages interleave "
            "model chunks over pipeline ranks"));
  const int model_parallel = t.tensor * t.pipeline;
  const Value& data = *parallel.find("data");
  if (data.as_int() == 0) {
    // The world size is the launch's, not the recipe's: no file position to point at.
    if (world % model_parallel != 0)
      fail(str("the world of ", world, world == 1 ? " rank" : " ranks",
               " does not factor into parallel.tensor (", t.tensor, ") x parallel.pipeline (", t.pipeline,
               ") x a data-parallel size: launch a multiple of ", model_parallel,
               " ranks (mpirun -np N) or change the layout"));
    t.data = world / model_parallel;
  } else {
    t.data = static_cast<int>(data.as_int());
    if (model_parallel * t.data != world)
      throw recipe::RecipeError(
          data.pos,
          str("parallel.tensor (", t.tensor, ") x parallel.pipeline (", t.pipeline, ") x parallel.data (",
              t.data, ") = ", model_parallel * t.data, " ranks, but the world has ", world,
              ": launch that many (mpirun -np N) or set parallel.data = 0 to derive it"));
  }
  const std::int64_t micro_batch = recipe.find_path("train.micro_batch")->as_int();
  const Value& global = *recipe.find_path("train.global_batch");
  if (global.as_int() % (micro_batch * t.data) != 0)
    throw recipe::RecipeError(
        global.pos,
        str("train.global_batch (", global.as_int(), ") must split into whole micro-batches of ", micro_batch,
            " over ", t.data, " data-parallel ranks (a multiple of ", micro_batch * t.data, ")"));
  return t;
}

std::vector<std::vector<StackEntry>> partition_layers(const Table& recipe, int virtual_stages) {
  const std::vector<StackEntry> layers = expand_stack(recipe);
  const int total = static_cast<int>(layers.size());
  std::vector<int> counts;
  const Value& explicit_counts = *recipe.find_path("parallel.stage_layers");
  if (!explicit_counts.as_array().empty()) {
    const Array& a = explicit_counts.as_array();
    if (static_cast<int>(a.size()) != virtual_stages)
      throw recipe::RecipeError(explicit_counts.pos,
                                str("parallel.stage_layers has ", a.size(), " entries; the layout has ",
                                    virtual_stages, " (virtual) pipeline stages: give one count per stage"));
    int sum = 0;
    for (const Value& v : a) {
      counts.push_back(static_cast<int>(v.as_int()));
      sum += counts.back();
    }
    if (sum != total)
      throw recipe::RecipeError(explicit_counts.pos,
                                str("parallel.stage_layers sums to ", sum, " but the model has ", total,
                                    " layers (expanded [[model.stack]] entries)"));
  } else {
    const int blocks_at = blocks_entry(layers);
    const int blocks = static_cast<int>(std::count_if(
        layers.begin(), layers.end(), [&](const StackEntry& e) { return e.entry == blocks_at; }));
    int before = 0;
    while (before < total && layers[before].entry != blocks_at) ++before;
    const int after = total - before - blocks;
    if (blocks % virtual_stages != 0) {
      const Value& n = *recipe.find_path("model.layers");
      throw recipe::RecipeError(
          n.pos, str("the model's ", blocks, " '", layers[before].layer, "' layers do not divide among ",
                     virtual_stages, " pipeline stages",
                     virtual_stages > recipe.find_path("parallel.pipeline")->as_int()
                         ? " (pipeline x virtual_stages)"
                         : "",
                     "; change model.layers or parallel.pipeline, or give parallel.stage_layers"));
    }
    counts.assign(virtual_stages, blocks / virtual_stages);
    counts.front() += before;
    counts.back() += after;
  }
  std::vector<std::vector<StackEntry>> out(virtual_stages);
  int next = 0;
  for (int v = 0; v < virtual_stages; ++v)
    for (int i = 0; i < counts[v]; ++i) out[v].push_back(layers[next++]);
  return out;
}

}  // namespace mtnlg::host
