#pragma once
// What each pipeline instruction costs on a cluster, from first principles: GEMM FLOPs of the stock GPT
// layers at an achieved share of the GPU's peak, the memory traffic the meta backend counted for the stage at
// an achieved share of HBM bandwidth, tensor-parallel all-reduces at NVLink bus bandwidth, pipeline transfers
// and the data-parallel gradient all-reduce at the bandwidth of the link they cross. Shapes follow Megatron's
// layers: (b, s, h) activations, h split over t tensor-parallel ranks.
#include <string>
#include <vector>

#include "mtnlg/config.hpp"
#include "pipeline/schedule_simulator.hpp"
#include "plan/cluster.hpp"
#include "plan/stage_measure.hpp"
#include "training/recompute_policy.hpp"
#include "training/topology.hpp"

namespace mtnlg::host::plan {

// Per micro-batch, on one tensor-parallel rank.
struct LayerWork {
  double forward_flops = 0.0;
  double backward_flops = 0.0;
  double recompute_flops = 0.0;  // run again before the backward (full or selective recomputation)
  // The attention core's share of each (QKᵀ, probabilities·V and their gradients, counted in full as
  // Narayanan's formula counts them): charged at attention_efficiency, the rest at gemm_efficiency.
  double forward_attention_flops = 0.0, backward_attention_flops = 0.0, recompute_attention_flops = 0.0;
  int forward_all_reduces = 0, backward_all_reduces = 0, recompute_all_reduces = 0;  // of (b, s, h)
};

// The work of stock layer `layer` (embedding, transformer_block, layernorm, lm_head); an error naming it for
// a layer the planner has no cost model for. `block_recomputed`: full recomputation marks this block.
LayerWork layer_work(const std::string& layer, const Table& recipe, int tensor, bool block_recomputed);

// Which terms the model charges; the ablation turns them off one at a time.
struct CostTerms {
  bool tp_comm = true;
  bool dp_comm = true;
  bool p2p = true;
};

// Time of every instruction of every stage (seconds), for simulate_schedule. `measures[s]` is stage s's,
// measured with traffic (bytes_per_micro_batch) for this same recipe.
InstructionCosts instruction_costs(const Table& recipe, const Topology& topology, const Cluster& cluster,
                                   const std::vector<StageMeasure>& measures, const CostTerms& terms);

// The GPU's peak for the recipe's train.dtype (bf16/fp16/f32/f64; f32 with backend.tf32 = true: TF32),
// TFLOP/s.
double peak_tflops(const Table& recipe, const Cluster& cluster);

// Model FLOPs of one iteration at the full global batch: Narayanan et al. (2021),
// 96·B·s·l·h²·(1 + s/6h + V/16lh), when every block is recomputed, otherwise Korthikanti et al. (2022),
// 72·B·s·l·h²·(1 + s/6h + V/12lh): the numbers papers report TFLOP/s with.
double model_flops(const Table& recipe);

}  // namespace mtnlg::host::plan
