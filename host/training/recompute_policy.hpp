#pragma once
// Activation recomputation as the recipe selects it: [train] recompute = "none" | "full" | "selective" and
// recompute_interval = N. The mode's names are Megatron-LM's --recompute-granularity values. The interval is
// deliberately not called num_layers: Megatron's --recompute-num-layers is the size of a group of layers
// recomputed from one saved input (method "uniform") or the number of layers per stage that recompute (method
// "block"); here every recomputed block is its own unit, and N spaces them out.
//   full       transformer block b (0-based among the model's blocks, whatever the layout) with b % N == 0
//              keeps only its input (B, T, C) in the forward pass; the engine runs its forward again just
//              before its backward. Generic: the engine recomputes whatever layer the stage marks
//              (ChunkLayers::recompute), so any model's blocks can use it.
//   selective  the GPT attention core keeps q, k, v but not its (B·H, T, T) probabilities and dropout
//              output, and recomputes them in its backward. Only the layer knows which of its activations are
//              cheap to redo, so the layer does it (it reads train.recompute; plugins/layer/gpt).
#include <cstdint>
#include <string>

#include "mtnlg/config.hpp"

namespace mtnlg::host {

enum class RecomputeMode : std::uint8_t { none, full, selective };

struct RecomputePolicy {
  RecomputeMode mode = RecomputeMode::none;
  int interval = 1;  // full: every interval-th block

  // From a validated recipe's [train].
  static RecomputePolicy from_recipe(const Table& recipe);

  bool recomputes_block(int block) const { return mode == RecomputeMode::full && block % interval == 0; }
  // How many of a model's `blocks` blocks run their whole forward twice per micro-batch.
  std::int64_t full_blocks(std::int64_t blocks) const {
    return mode == RecomputeMode::full ? (blocks + interval - 1) / interval : 0;
  }
  // "none", "full (every block)", "full (one block in 2)", "selective (attention core)".
  std::string describe() const;
};

}  // namespace mtnlg::host
