#pragma once
// Saves the whole model as a single-rank checkpoint (training/checkpoint.hpp) from any 3D layout: world rank
// 0 assembles every parameter from data-parallel rank 0 of each stage and tensor slice, in the single-rank
// layout, so `mtnlg generate` and any later run can load it whatever layout trained it. (Sharded checkpoints
// with optimizer state and exact resume are the checkpoint work's.)
#include <filesystem>

#include "mtnlg/communicator.hpp"
#include "training/checkpoint.hpp"
#include "training/stage.hpp"

namespace mtnlg::host {

// Collective over `world` (null: one process). Only world rank 0 writes.
void save_gathered_checkpoint(const std::filesystem::path& dir, const Table& recipe, Stage& stage,
                              ProcessGroup* world, const CheckpointInfo& info);

}  // namespace mtnlg::host
