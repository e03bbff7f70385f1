#pragma once
// A single-rank checkpoint: DIR/recipe.toml (the resolved recipe), DIR/parameters.bin (the stage's flat
// parameter buffer, little-endian, in the train dtype) and DIR/manifest.toml (format, step, consumed samples,
// dtype, and each parameter's name, shape and offset, so a load can check it is restoring the same model).
// Written into DIR.tmp and renamed, so DIR is either the previous checkpoint or the new one, never half of
// one. This is the *model* checkpoint that generate, eval and convert --to hf-gpt2 read; the sharded training
// checkpoint with optimizer state, for resume, is checkpoint/training_checkpoint.hpp.
#include <cstdint>
#include <filesystem>

#include "engine/param_store.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/config.hpp"

namespace mtnlg::host {

struct CheckpointInfo {
  std::int64_t step = 0;
  std::int64_t consumed_samples = 0;
};

void save_checkpoint(const std::filesystem::path& dir, const Table& recipe, const ParamStore& params,
                     Backend& backend, const CheckpointInfo& info);

// Loads the parameters into `params` after checking the manifest matches them (names, shapes, dtype); errors
// name the checkpoint file and the first mismatch.
CheckpointInfo load_checkpoint_parameters(const std::filesystem::path& dir, ParamStore& params,
                                          Backend& backend);

}  // namespace mtnlg::host
