#pragma once
// One rank's part of a recipe, instantiated on the meta backend (shapes and exact allocation accounting, no
// data, no arithmetic) and run for a training step: the planner's and `mtnlg check`'s source for memory. The
// meta backend counts allocations exactly as the CPU backend does, so these are the bytes a real rank
// allocates, layer plugins and engine included.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mtnlg/config.hpp"
#include "plugin_host/registry.hpp"
#include "training/stage.hpp"
#include "training/topology.hpp"

namespace mtnlg::host::plan {

struct StageMeasure {
  int stage = 0;                  // pipeline rank
  std::int64_t local_params = 0;  // parameter elements this rank holds
  std::size_t parameters = 0;     // bytes of the parameters (train.dtype)
  std::size_t gradients = 0;      // bytes of their gradients
  std::size_t master = 0;         // mixed precision: fp32 master weights and main gradients; 0 otherwise
  std::size_t optimizer = 0;      // the rest of set-up: optimizer state (and its ZeRO-1 share), buffers
  std::size_t setup = 0;          // live after set-up: the four above
  std::size_t reduced_bytes =
      0;                 // the gradient buffer data parallelism all-reduces (main gradients if mixed)
  std::size_t peak = 0;  // most live at once during a step at the full batch (0: no step run)
  double bytes_per_micro_batch = 0.0;             // allocated by one micro-batch's forward and backward
  std::vector<std::vector<std::int64_t>> shapes;  // of the parameters this rank stores, in order
  std::size_t activations() const { return peak > setup ? peak - setup : 0; }
};

struct MeasureOptions {
  bool run_step = true;  // simulate a step at the full batch (peak, allocation traffic)
  bool traffic = false;  // also a step at M + stages micro-batches, for bytes_per_micro_batch
};

// Options for a Stage on the meta backend at `topology`; with `stand_in_reader`, the synthetic reader (random
// tokens of the recipe's shape, no files) instead of the recipe's.
StageOptions meta_stage_options(const Topology& topology, bool stand_in_reader);

// Rank `topology.rank`'s stage of `recipe` (resolved for topology.world ranks) on the meta backend, with the
// synthetic reader standing in for the recipe's data (the meta backend reads none). Errors are the recipe's
// and the plugins' own.
StageMeasure measure_stage(const Table& recipe, const Registry& registry, const Topology& topology,
                           const MeasureOptions& options = {});

}  // namespace mtnlg::host::plan
