#pragma once
// The model a checkpoint holds, built on this one process: a checkpoint is in the single-rank layout whatever
// layout trained it, so generation, evaluation and conversion all load it the same way.
#include <filesystem>
#include <memory>

#include "mtnlg/config.hpp"
#include "plugin_host/registry.hpp"
#include "training/checkpoint.hpp"
#include "training/stage.hpp"

namespace mtnlg::host {

// The checkpoint's recipe (DIR/recipe.toml) resolved for one rank; an error naming DIR if it has none.
Table single_rank_recipe_of(Registry& registry, const std::filesystem::path& checkpoint);

struct CheckpointModel {
  Table recipe;  // single_rank_recipe_of
  std::unique_ptr<Stage> stage;
  CheckpointInfo info;
};

// The model for inference with the checkpoint's parameters loaded (errors name the checkpoint's files).
CheckpointModel load_checkpoint_model(Registry& registry, const std::filesystem::path& checkpoint);

}  // namespace mtnlg::host
