#pragma once
// `mtnlg convert CKPT --tensor T --pipeline P OUT`: a sharded training checkpoint rewritten for another
// tensor- and pipeline-parallel layout (one shard per rank of a T × P world, data-parallel size 1), so that
// each rank of the new layout reads only its own shard. Parameters and optimizer state are cut from the
// global tensors the input's pieces make up; step, consumed samples and the model are the input's.
// `mtnlg train --resume` reads a checkpoint of any layout directly; converting first is what makes that
// cheap when the layouts differ, and what to ship to another cluster.
#include <filesystem>
#include <string>
#include <vector>

#include "plugin_host/registry.hpp"

namespace mtnlg::host {

struct ReshardOptions {
  int tensor = 1;
  int pipeline = 1;
  int virtual_stages = 1;
  std::vector<std::string> overrides;  // --set on the checkpoint's recipe (train.dtype for the run to come)
};

// `input`: a sharded checkpoint directory, a run directory (its latest), or a consolidated model checkpoint
// (RUN_DIR/checkpoint, an `mtnlg convert --from hf-gpt2` import), which becomes a training checkpoint with
// fresh optimizer state — how training starts from imported weights on any layout. OUT must not exist or be
// empty; it appears whole or not at all.
void reshard_checkpoint(Registry& registry, const std::filesystem::path& input, const ReshardOptions& options,
                        const std::filesystem::path& out);

}  // namespace mtnlg::host
