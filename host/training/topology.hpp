#pragma once
// Where a rank sits in the 3D layout, and which layers each pipeline stage runs. Megatron's rank order:
// tensor parallelism innermost (one node's GPUs), then data, then pipeline outermost (across nodes): rank =
// tp + TP·dp + TP·DP·pp.
#include <string>
#include <vector>

#include "mtnlg/config.hpp"
#include "training/recipe_schema.hpp"

namespace mtnlg::host {

struct Topology {
  int world = 1, tensor = 1, pipeline = 1, data = 1;
  int chunks = 1;  // model chunks (virtual stages) per pipeline rank
  int rank = 0;

  int tp_rank() const { return rank % tensor; }
  int dp_rank() const { return (rank / tensor) % data; }
  int pp_rank() const { return rank / (tensor * data); }
  int rank_of(int tp, int dp, int pp) const { return tp + tensor * (dp + data * pp); }
  int virtual_stages() const { return pipeline * chunks; }
  std::string describe() const;     // "TP 2 × PP 2 × DP 2 (8 ranks)"
  std::string coordinates() const;  // "rank 5 (tp 1, dp 0, pp 1)"
};

// The layout of `world` ranks from the recipe's [parallel]: DP is world / (TP·PP) when parallel.data is 0. A
// world that does not factor is an error naming the sizes, before any work.
Topology make_topology(const Table& recipe, int world, int rank);

// The model's layers (expanded stack entries) of each virtual stage v = chunk·PP + stage, in order. Default:
// the most-repeated stack entry (the transformer blocks) split evenly, the layers before them on the first
// virtual stage and those after on the last; parallel.stage_layers gives the counts explicitly.
std::vector<std::vector<StackEntry>> partition_layers(const Table& recipe, int virtual_stages);

}  // namespace mtnlg::host
