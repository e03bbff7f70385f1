#include "plan/cost_model.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "training/recipe_schema.hpp"

namespace mtnlg::host::plan {

namespace {

struct Shape {
  double b, s, h, v;  // micro-batch, sequence, hidden, padded vocabulary
};

Shape shape_of(const Table& recipe) {
  const Table& model = recipe.get_table("model");
  const double vocab = static_cast<double>(model.get_int("padded_vocab") > 0 ? model.get_int("padded_vocab")
                                                                             : model.get_int("vocab_size"));
  return {static_cast<double>(recipe.get_table("train").get_int("micro_batch")),
          static_cast<double>(model.get_int("seq_len")), static_cast<double>(model.get_int("hidden")), vocab};
}

// All-reduce of `bytes` over n ranks by ring at bus bandwidth `busbw` (nccl-tests' definition:
// busbw = size / time · 2(n−1)/n).
double all_reduce_seconds(double bytes, int n, double busbw_gbps) {
  if (n <= 1) return 0.0;
  return bytes * 2.0 * (n - 1) / n / (busbw_gbps * 1e9);
}

// Bandwidth available to one GPU for traffic leaving its node: its share of the node's adapters.
double nic_per_gpu(const Cluster& c) {
  return c.value("nic_gbps") * std::min(1.0, c.value("nics_per_node") / c.gpus_per_node);
}

}  // namespace

LayerWork layer_work(const std::string& layer, const Table& recipe, int tensor, bool block_recomputed) {
  const auto [b, s, h, v] = shape_of(recipe);
  const double t = tensor;
  const RecomputePolicy recompute = RecomputePolicy::from_recipe(recipe);
  const int ar = tensor > 1 ? 1 : 0;
  LayerWork w;
  if (layer == "transformer_block") {
    // QKV 6bsh², scores QKᵀ 2bs²h, probabilities·V 2bs²h, projection 2bsh², MLP 16bsh²; each split over t.
    w.forward_flops = (24.0 * b * s * h * h + 4.0 * b * s * s * h) / t;
    w.backward_flops = 2.0 * w.forward_flops;  // input and weight gradients
    w.forward_attention_flops = 4.0 * b * s * s * h / t;
    w.backward_attention_flops = 2.0 * w.forward_attention_flops;
    w.forward_all_reduces = w.backward_all_reduces = 2 * ar;  // after attention and MLP; their transposes
    if (block_recomputed) {
      w.recompute_flops = w.forward_flops;
      w.recompute_attention_flops = w.forward_attention_flops;
      w.recompute_all_reduces = 2 * ar;
    } else if (recompute.mode == RecomputeMode::selective) {
      w.recompute_flops = 2.0 * b * s * s * h / t;  // the attention core redoes QKᵀ (softmax is memory)
      w.recompute_attention_flops = w.recompute_flops;
    }
  } else if (layer == "lm_head") {
    w.forward_flops = 2.0 * b * s * h * v / t;  // logits of the vocabulary slice
    w.backward_flops = 2.0 * w.forward_flops;
    w.backward_all_reduces = ar;  // the input gradient, summed over the vocabulary slices
  } else if (layer == "embedding") {
    w.forward_all_reduces = ar;  // rows gathered from the vocabulary slices
  } else if (layer != "layernorm") {
    throw Error(str("the planner has no cost model for layer '", layer,
                    "'; it knows embedding, transformer_block, layernorm and lm_head"));
  }
  return w;
}

double peak_tflops(const Table& recipe, const Cluster& cluster) {
  const std::string dtype = recipe.get_table("train").get_string("dtype");
  if (dtype == "bf16") return cluster.value("peak_tflops_bf16");
  if (dtype == "fp16") return cluster.value("peak_tflops_fp16");
  if (dtype == "f64") return cluster.value("peak_tflops_f64");
  // f32 GEMMs on tensor cores when the backend says so (the cuda backend's tf32 key).
  const Value* tf32 = recipe.find_path("backend.tf32");
  if (tf32 != nullptr && tf32->is_bool() && tf32->as_bool()) return cluster.value("peak_tflops_tf32");
  return cluster.value("peak_tflops_f32");
}

double model_flops(const Table& recipe) {
  const auto [b, s, h, v] = shape_of(recipe);
  (void)b;
  const Table& train = recipe.get_table("train");
  const double B = static_cast<double>(train.get_int("global_batch"));
  const double l = static_cast<double>(recipe.get_table("model").get_int("layers"));
  const RecomputePolicy recompute = RecomputePolicy::from_recipe(recipe);
  if (recompute.mode == RecomputeMode::full && recompute.interval == 1)
    return 96.0 * B * s * l * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * l * h));
  return 72.0 * B * s * l * h * h * (1.0 + s / (6.0 * h) + v / (12.0 * l * h));
}

InstructionCosts instruction_costs(const Table& recipe, const Topology& topology, const Cluster& cluster,
                                   const std::vector<StageMeasure>& measures, const CostTerms& terms) {
  const int P = topology.pipeline, V = topology.virtual_stages(), t = topology.tensor, d = topology.data;
  MTNLG_CHECK(static_cast<int>(measures.size()) == P, "internal: one measure per pipeline stage");
  const auto [b, s, h, v] = shape_of(recipe);
  const double element = static_cast<double>(dtype_size(train_dtype(recipe)));
  const double gemm = peak_tflops(recipe, cluster) * 1e12 * cluster.value("gemm_efficiency");
  const double attention = peak_tflops(recipe, cluster) * 1e12 * cluster.value("attention_efficiency");
  // Seconds of `flops` of which `attention_flops` are the attention core's.
  const auto compute = [&](double flops, double attention_flops) {
    return (flops - attention_flops) / gemm + attention_flops / attention;
  };
  const double memory = cluster.value("hbm_gbps") * 1e9 * cluster.value("memory_efficiency");
  const int gpus = cluster.gpus_per_node;
  // A group of ranks `stride` apart in rank order, n of them, stays inside a node when it spans no more GPUs.
  const auto link = [&](int stride, int n) {
    return static_cast<long long>(stride) * (n - 1) < gpus ? cluster.value("nvlink_busbw_gbps")
                                                           : nic_per_gpu(cluster);
  };
  const double activation = b * s * h * element;  // one (b, s, h) tensor
  const double tp_all_reduce = terms.tp_comm ? all_reduce_seconds(activation, t, link(1, t)) : 0.0;

  const RecomputePolicy recompute = RecomputePolicy::from_recipe(recipe);
  const auto partition = partition_layers(recipe, V);
  const std::vector<StackEntry> stack = expand_stack(recipe);
  const int blocks_at = blocks_entry(stack);
  int first_block = -1;
  for (const StackEntry& e : stack)
    if (e.entry == blocks_at && first_block < 0) first_block = e.index;

  InstructionCosts c;
  c.forward_by_virtual.assign(V, 0.0);
  c.backward_by_virtual.assign(V, 0.0);
  // Per stage: compute time of each chunk, to share the stage's measured memory traffic by.
  std::vector<double> stage_flops(P, 0.0);
  std::vector<double> fwd_flops(V, 0.0), bwd_flops(V, 0.0);
  for (int vs = 0; vs < V; ++vs) {
    for (const StackEntry& e : partition[vs]) {
      const bool recomputed = e.entry == blocks_at && recompute.recomputes_block(e.index - first_block);
      const LayerWork w = layer_work(e.layer, recipe, t, recomputed);
      fwd_flops[vs] += w.forward_flops;
      bwd_flops[vs] += w.backward_flops + w.recompute_flops;
      c.forward_by_virtual[vs] +=
          compute(w.forward_flops, w.forward_attention_flops) + w.forward_all_reduces * tp_all_reduce;
      c.backward_by_virtual[vs] += compute(w.backward_flops + w.recompute_flops,
                                           w.backward_attention_flops + w.recompute_attention_flops) +
                                   (w.backward_all_reduces + w.recompute_all_reduces) * tp_all_reduce;
    }
    stage_flops[vs % P] += fwd_flops[vs] + bwd_flops[vs];
  }
  // Memory-bound work: the bytes the stage's ops allocate per micro-batch, each written and read
  // (memory_traffic_factor), shared among chunks and between forward and backward by their FLOPs.
  for (int vs = 0; vs < V; ++vs) {
    const StageMeasure& m = measures[vs % P];
    const double seconds = m.bytes_per_micro_batch * cluster.value("memory_traffic_factor") / memory;
    const double total = stage_flops[vs % P];
    if (total <= 0.0) continue;
    c.forward_by_virtual[vs] += seconds * fwd_flops[vs] / total;
    c.backward_by_virtual[vs] += seconds * bwd_flops[vs] / total;
  }
  // Pipeline neighbours are t·d ranks apart; every tensor-parallel rank sends its own copy over its own link.
  c.transfer = terms.p2p && P > 1 ? activation / (link(t * d, 2) * 1e9) : 0.0;

  const bool zero = recipe.get_table("parallel").get_int("zero") == 1;
  const bool mixed = train_dtype(recipe) == DType::bf16 || train_dtype(recipe) == DType::f16;
  const double overlap = cluster.value("dp_overlap");
  c.reduce_grads_by_stage.assign(P, 0.0);
  c.optimizer_step_by_stage.assign(P, 0.0);
  for (int st = 0; st < P; ++st) {
    const StageMeasure& m = measures[st];
    double seconds = 0.0;
    if (terms.dp_comm && d > 1) {
      const double bw = link(t, d) * 1e9, share = (d - 1.0) / d;
      // ZeRO-1: reduce-scatter the gradients, all-gather the updated (fp32 master if mixed) parameters.
      seconds =
          zero
              ? share * (static_cast<double>(m.reduced_bytes) + m.local_params * (mixed ? 4.0 : element)) / bw
              : 2.0 * share * static_cast<double>(m.reduced_bytes) / bw;
    }
    // The tied embedding's gradient, summed between the first and the last stage (an fp32 main gradient if
    // mixed), over the network when they are on different nodes.
    if (terms.dp_comm && P > 1 && (st == 0 || st == P - 1))
      seconds += v / t * h * (mixed ? 4.0 : element) / (link(t * d * (P - 1), 2) * 1e9);
    c.reduce_grads_by_stage[st] = seconds * (1.0 - overlap);
    // AdamW moves per parameter: gradient read twice (norm, update), parameter and two moments read and
    // written — 36 bytes in fp32 — plus, mixed, the 16-bit copy written and the 16-bit gradient zeroed.
    const double updated = static_cast<double>(m.local_params) / (zero ? d : 1);
    c.optimizer_step_by_stage[st] = updated * (36.0 + (mixed ? 2.0 * element : 0.0)) / memory;
  }
  return c;
}

}  // namespace mtnlg::host::plan
