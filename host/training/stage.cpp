#include "training/stage.hpp"

#include "mtnlg/str.hpp"
#include "training/recipe_schema.hpp"

namespace mtnlg::host {

namespace {
template <class T>
std::unique_ptr<T> create(const Registry& registry, const Table& recipe, Backend* backend,
                          const std::string& name, const Table& params, int index = -1,
                          const LayerFactory* layers = nullptr) {
  const ComponentRecord& record = registry.require(T::kKind, name, params.pos);
  return registry.create_as<T>(record, CreateArgs{params, recipe, backend, index, layers});
}
}  // namespace

Stage::Stage(const Table& recipe, const Registry& registry, const StageOptions& options) {
  const Table& train = recipe.get_table("train");
  const Table& backend_table = recipe.get_table("backend");
  if (options.backend_override.empty()) {
    backend_ = create<Backend>(registry, recipe, nullptr, backend_table.get_string("name"), backend_table);
  } else {
    const Table no_params;
    backend_ = create<Backend>(registry, recipe, nullptr, options.backend_override, no_params);
  }

  layer_factory_ = std::make_unique<RegistryLayerFactory>(registry, recipe, backend_.get());
  for (const StackEntry& e : expand_stack(recipe)) {
    layers_.push_back(
        create<Layer>(registry, recipe, backend_.get(), e.layer, *e.params, e.index, layer_factory_.get()));
    layers_.back()->set_component_label(str("layer ", e.index, " '", e.layer, "'"));
    layer_indices_.push_back(e.index);
  }
  schedule_ =
      create<Schedule>(registry, recipe, backend_.get(), recipe.find_path("parallel.schedule")->as_string(),
                       recipe.get_table("schedule"));
  const Table& optimizer_table = recipe.get_table("optimizer");
  if (!options.inference)
    optimizer_ = create<Optimizer>(registry, recipe, backend_.get(), optimizer_table.get_string("name"),
                                   optimizer_table);
  if (const Value* reader = recipe.find("reader"); reader != nullptr && !options.inference)
    reader_ = create<Reader>(registry, recipe, backend_.get(), reader->as_table().get_string("name"),
                             reader->as_table());

  const std::int64_t micro_batch = train.get_int("micro_batch");
  micro_batches_ = static_cast<int>(train.get_int("global_batch") / micro_batch);
  EngineOptions engine_options;
  engine_options.dtype = *dtype_from_name(train.get_string("dtype"));
  engine_options.micro_batch = static_cast<int>(micro_batch);
  engine_options.seed = static_cast<std::uint64_t>(train.get_int("seed"));
  std::vector<Layer*> layers;
  for (auto& l : layers_) layers.push_back(l.get());
  engine_ = std::make_unique<Engine>(*backend_, std::move(layers), layer_indices_, *schedule_,
                                     optimizer_.get(), reader_.get(), engine_options);
}

}  // namespace mtnlg::host
