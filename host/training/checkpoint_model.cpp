#include "training/checkpoint_model.hpp"

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "training/recipe_schema.hpp"

namespace mtnlg::host {

Table single_rank_recipe_of(Registry& registry, const std::filesystem::path& checkpoint) {
  const std::filesystem::path recipe_file = checkpoint / "recipe.toml";
  MTNLG_CHECK(std::filesystem::exists(recipe_file),
              str(checkpoint.string(),
                  " is not an mtnlg checkpoint: no recipe.toml (give the checkpoint directory of a run, e.g. "
                  "runs/tiny/checkpoint)"));
  return resolve_recipe(recipe_file,
                        {"parallel.tensor=1", "parallel.pipeline=1", "parallel.data=1",
                         "parallel.virtual_stages=1", "parallel.stage_layers=[]"},
                        registry);
}

CheckpointModel load_checkpoint_model(Registry& registry, const std::filesystem::path& checkpoint) {
  CheckpointModel model{single_rank_recipe_of(registry, checkpoint), nullptr, {}};
  model.stage = std::make_unique<Stage>(model.recipe, registry, StageOptions{.inference = true});
  model.info = load_checkpoint_parameters(checkpoint, model.stage->engine().params(), model.stage->backend());
  return model;
}

}  // namespace mtnlg::host
