#pragma once
// The model a checkpoint holds, built on this one process: a checkpoint is in the single-rank layout whatever
// layout trained it, so generation, evaluation and conversion all load it the same way. A rank of a
// multi-rank inference layout (eval/inference_model.hpp) loads just its slices of the same files.
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

// This rank's part of the checkpoint's parameters, into `params` (a stage of any tensor and pipeline layout
// built from the checkpoint's model): each of its parameters is read by the name the single-rank layout saved
// it under (a tied copy on another stage by its origin's) and cut to part `tensor_rank` of `tensor_size`
// along its tensor-parallel dimension. Errors name the checkpoint's file and the parameter that is missing
// or differs.
CheckpointInfo load_checkpoint_slices(const std::filesystem::path& checkpoint, ParamStore& params,
                                      Backend& backend, int tensor_rank, int tensor_size);

}  // namespace mtnlg::host
