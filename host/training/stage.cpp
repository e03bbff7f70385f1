#include "training/stage.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "mtnlg/str.hpp"
#include "training/recipe_schema.hpp"
#include "training/recompute_policy.hpp"

namespace mtnlg::host {

namespace {
template <class T>
std::unique_ptr<T> create(const Registry& registry, const Table& recipe, Backend* backend,
                          const std::string& name, const Table& params, int index = -1,
                          const LayerFactory* layers = nullptr) {
  const ComponentRecord& record = registry.require(T::kKind, name, params.pos);
  return registry.create_as<T>(record, CreateArgs{params, recipe, backend, index, layers});
}

Topology default_topology(const Table& recipe) {
  const Table& parallel = recipe.get_table("parallel");
  const std::int64_t data = std::max<std::int64_t>(1, parallel.get_int("data"));
  return make_topology(recipe,
                       static_cast<int>(parallel.get_int("tensor") * parallel.get_int("pipeline") * data), 0);
}
}  // namespace

Stage::Stage(const Table& recipe, const Registry& registry, const StageOptions& options)
    : topology_(options.topology ? *options.topology : default_topology(recipe)) {
  const Table& train = recipe.get_table("train");
  const Table& model = recipe.get_table("model");
  const Table& backend_table = recipe.get_table("backend");
  if (options.backend_override.empty()) {
    backend_ = create<Backend>(registry, recipe, nullptr, backend_table.get_string("name"), backend_table);
  } else {
    const Table no_params;
    backend_ = create<Backend>(registry, recipe, nullptr, options.backend_override, no_params);
  }

  // Every layer of the model is created (objects are cheap: parameters are allocated by the engine), so that
  // this rank knows where each tied parameter is first declared; it keeps only its own chunks' layers.
  layer_factory_ = std::make_unique<RegistryLayerFactory>(registry, recipe, backend_.get());
  const int stages = topology_.pipeline, chunks = topology_.chunks, stage = topology_.pp_rank();
  const auto partition = partition_layers(recipe, topology_.virtual_stages());
  // Full recomputation marks the transformer blocks, numbered over the whole model so that a block
  // recomputes in every layout alike.
  const RecomputePolicy recompute = RecomputePolicy::from_recipe(recipe);
  const std::vector<StackEntry> stack = expand_stack(recipe);
  const int blocks_at = blocks_entry(stack);
  const int first_block = std::find_if(stack.begin(), stack.end(), [&](const StackEntry& e) {
                            return e.entry == blocks_at;
                          })->index;
  std::vector<ChunkLayers> mine(chunks);
  std::map<std::string, TieOrigin, std::less<>> ties;
  std::map<std::string, std::set<int>, std::less<>> tie_stages;
  for (int v = 0; v < topology_.virtual_stages(); ++v) {
    for (const StackEntry& e : partition[v]) {
      auto layer =
          create<Layer>(registry, recipe, backend_.get(), e.layer, *e.params, e.index, layer_factory_.get());
      layer->set_component_label(str("layer ", e.index, " '", e.layer, "'"));
      model_params_.push_back(layer->parameters());
      stage_of_layer_.push_back(v % stages);
      for (const ParamSpec& p : model_params_.back()) {
        if (p.tie.empty()) continue;
        tie_stages[p.tie].insert(v % stages);
        if (!ties.contains(p.tie)) ties[p.tie] = TieOrigin{e.index, p.name, v % stages == stage};
      }
      if (v % stages != stage) continue;
      mine[v / stages].layers.push_back(layer.get());
      mine[v / stages].indices.push_back(e.index);
      mine[v / stages].recompute.push_back(e.entry == blocks_at &&
                                           recompute.recomputes_block(e.index - first_block));
      layers_.push_back(std::move(layer));
      layer_indices_.push_back(e.index);
    }
  }
  // Only ties that span stages need the origin's key and the first/last-stage all-reduce.
  for (auto it = ties.begin(); it != ties.end();)
    it = tie_stages[it->first].size() > 1 ? std::next(it) : ties.erase(it);

  schedule_ =
      create<Schedule>(registry, recipe, backend_.get(), recipe.find_path("parallel.schedule")->as_string(),
                       recipe.get_table("schedule"));
  const Table& optimizer_table = recipe.get_table("optimizer");
  if (!options.inference)
    optimizer_ = create<Optimizer>(registry, recipe, backend_.get(), optimizer_table.get_string("name"),
                                   optimizer_table);
  // Only the stages holding the first or the last virtual stage read data.
  const bool reads_data = stage == 0 || stage == stages - 1;
  if (const Value* reader = recipe.find("reader"); reader != nullptr && !options.inference && reads_data) {
    reader_ = options.reader_override.empty()
                  ? create<Reader>(registry, recipe, backend_.get(), reader->as_table().get_string("name"),
                                   reader->as_table())
                  : create<Reader>(registry, recipe, backend_.get(), options.reader_override,
                                   options.reader_override_params);
  }

  const std::int64_t micro_batch = train.get_int("micro_batch");
  micro_batches_ = static_cast<int>(train.get_int("global_batch") / (micro_batch * topology_.data));
  const Table& parallel = recipe.get_table("parallel");
  EngineOptions engine_options;
  engine_options.dtype = train_dtype(recipe);
  if (engine_options.dtype == DType::f16) {
    // Megatron's defaults and semantics (--loss-scale, --initial-loss-scale, --min-loss-scale,
    // --loss-scale-window, --hysteresis); bf16 has fp32's exponent range and needs no scaling.
    const double constant = train.get_float("loss_scale");
    engine_options.loss_scaling =
        LossScalerOptions{.dynamic = constant == 0.0,
                          .initial_scale = constant == 0.0 ? train.get_float("initial_loss_scale") : constant,
                          .min_scale = train.get_float("min_loss_scale"),
                          .growth_interval = train.get_int("loss_scale_window"),
                          .hysteresis = train.get_int("hysteresis")};
  }
  engine_options.micro_batch = static_cast<int>(micro_batch);
  engine_options.seed = static_cast<std::uint64_t>(train.get_int("seed"));
  engine_options.layout = PipelineLayout{stages, stage, 1, chunks};
  engine_options.boundary_shape = {micro_batch, model.get_int("seq_len"), model.get_int("hidden")};
  engine_options.tp_rank = topology_.tp_rank();
  engine_options.tp_size = topology_.tensor;
  engine_options.dp_rank = topology_.dp_rank();
  engine_options.dp_size = topology_.data;
  engine_options.zero = parallel.get_int("zero") == 1;
  engine_options.bucket_bytes = static_cast<std::size_t>(parallel.get_float("bucket_mb") * 1024.0 * 1024.0);
  engine_options.ties = std::move(ties);
  if (const char* bug = std::getenv("MTNLG_PLANT_BUG")) engine_options.planted_bug = bug;
  engine_ = std::make_unique<Engine>(*backend_, std::move(mine), *schedule_, optimizer_.get(), reader_.get(),
                                     std::move(engine_options), options.groups);
}

}  // namespace mtnlg::host
