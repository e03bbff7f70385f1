#pragma once
// The standard ops every compute backend provides (the CPU backend is the reference; `mtnlg plugins
// --describe cpu` lists what a backend supports). Shapes are row-major; "contiguous" means the tensor's
// elements are dense in row-major order. Each Args struct is copied into deferred work, so it holds Tensors
// (views, cheap to copy) and scalars only.
#include <cstdint>

#include "mtnlg/backend.hpp"
#include "mtnlg/op_checks.hpp"  // the contract of each op below, checked by Backend::run

namespace mtnlg::ops {

// c = alpha · op(a) · op(b) + beta · c, for 2-D operands or a batch of them (3-D, same batch size).
// op(x) = xᵀ when trans_x. a: (M, K) or (K, M) if trans_a; b: (K, N) or (N, K) if trans_b; c: (M, N).
// The last dimension of each operand must have stride 1; leading strides may be anything (views).
struct GemmArgs {
  Tensor a, b, c;
  bool trans_a = false, trans_b = false;
  double alpha = 1.0, beta = 0.0;
  DType dtype() const { return c.dtype(); }
};
inline constexpr OpKey<GemmArgs> gemm{"gemm"};

// out[i] = value. out contiguous.
struct FillArgs {
  Tensor out;
  double value = 0.0;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<FillArgs> fill{"fill"};

// dst = src, any strides, same shape and dtype.
struct CopyArgs {
  Tensor src, dst;
  DType dtype() const { return dst.dtype(); }
};
inline constexpr OpKey<CopyArgs> copy{"copy"};

// dst = src converted to dst's dtype: any of f32, f64, bf16, f16 to any of them (the same dtype too), each
// element rounded once from its exact value to nearest, ties to even (f64 → bf16 directly, not through f32);
// a value beyond dst's largest finite one by half an ulp or more becomes ±∞, NaN stays NaN. Same shape, both
// contiguous, not overlapping. The kernel is selected by dst's dtype; a backend supporting cast for a dtype
// casts into it from every one of the four.
struct CastArgs {
  Tensor src, dst;
  DType dtype() const { return dst.dtype(); }
};
inline constexpr OpKey<CastArgs> cast{"cast"};

// y += alpha · x. Both contiguous, same number of elements.
struct AxpyArgs {
  Tensor x, y;
  double alpha = 1.0;
  DType dtype() const { return y.dtype(); }
};
inline constexpr OpKey<AxpyArgs> axpy{"axpy"};

// x *= alpha, in place. x contiguous.
struct ScaleArgs {
  Tensor x;
  double alpha = 1.0;
  DType dtype() const { return x.dtype(); }
};
inline constexpr OpKey<ScaleArgs> scale{"scale"};

// out = a + b and out = a ⊙ b, elementwise. All contiguous, same number of elements; out may alias a or b.
struct BinaryArgs {
  Tensor a, b, out;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<BinaryArgs> add{"add"};
inline constexpr OpKey<BinaryArgs> mul{"mul"};

// out = x + bias over the last dimension. x, out: (..., N) contiguous; bias: (N). out may alias x.
struct BiasAddArgs {
  Tensor x, bias, out;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<BiasAddArgs> bias_add{"bias_add"};

// out[j] = beta · out[j] + Σ_i x[i, j]: the bias gradient. x: (..., N) contiguous, out: (N).
struct ColumnSumArgs {
  Tensor x, out;
  double beta = 0.0;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<ColumnSumArgs> column_sum{"column_sum"};

// out[0] = Σ x², summed in a fixed order (deterministic). x contiguous; out: (1), same dtype.
struct SquaredNormArgs {
  Tensor x, out;
  DType dtype() const { return x.dtype(); }
};
inline constexpr OpKey<SquaredNormArgs> squared_norm{"squared_norm"};

// GPT-2's tanh GeLU: out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Contiguous, same shape.
struct GeluArgs {
  Tensor x, out;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<GeluArgs> gelu{"gelu"};

// dx = dy · gelu'(x). Contiguous, same shape; dx may alias dy.
struct GeluBackwardArgs {
  Tensor x, dy, dx;
  DType dtype() const { return dx.dtype(); }
};
inline constexpr OpKey<GeluBackwardArgs> gelu_backward{"gelu_backward"};

// ---- GPT ops -------------------------------------------------------------------------------------------

// out[b, t, :] = table[tokens[b, t], :] + positions[t, :]. tokens: (B, T) i32, each in [0, valid_rows);
// table: (rows, C); positions: (≥ T, C) or undefined (no position term); out: (B, T, C). dtype: table's.
// A token outside [0, valid_rows) is an error naming it (data-dependent: raised by the kernel).
// Vocabulary-parallel slices (Megatron's tensor parallelism): full_rows = 0 means the table is whole.
// Otherwise the table holds rows [row_offset, row_offset + rows) of a (full_rows, C) table, with
// row_offset ≥ 0, row_offset + rows ≤ full_rows and 1 ≤ valid_rows ≤ full_rows; tokens must still lie in
// [0, valid_rows), and a token outside the slice gives a zero row (plus the position term when positions is
// defined). Summing the outputs of all the slices gives the whole table's output.
struct EmbeddingArgs {
  Tensor tokens, table, positions, out;
  std::int64_t valid_rows = 0;
  std::int64_t row_offset = 0;  // the slice's first row in the full table (0 when whole)
  std::int64_t full_rows = 0;   // the full table's rows; 0: the table is whole
  DType dtype() const { return table.dtype(); }
};
inline constexpr OpKey<EmbeddingArgs> embedding{"embedding"};

// dtable[tokens[b, t], :] += dout[b, t, :]; dpositions[t, :] += Σ_b dout[b, t, :] (when defined). Sums in a
// fixed order (deterministic). Shapes as for embedding; tokens must lie in [0, rows) (sliced: [0,
// full_rows)). Sliced as for embedding (full_rows ≠ 0): dtable holds rows [row_offset, row_offset + rows) of
// the full table's gradient, so only the tokens in the slice add to it (token r to dtable[r − row_offset]);
// dpositions still gets every position's gradient.
struct EmbeddingBackwardArgs {
  Tensor tokens, dout, dtable, dpositions;
  std::int64_t row_offset = 0;  // as for EmbeddingArgs
  std::int64_t full_rows = 0;
  DType dtype() const { return dtable.dtype(); }
};
inline constexpr OpKey<EmbeddingBackwardArgs> embedding_backward{"embedding_backward"};

// Per row of x (N, C): mean, rstd = 1/sqrt(var + eps) (biased variance), out = (x − mean)·rstd·gamma + beta.
// gamma, beta: (C); mean, rstd: (N), written for the backward pass. All contiguous.
struct LayerNormArgs {
  Tensor x, gamma, beta, out, mean, rstd;
  double eps = 1e-5;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<LayerNormArgs> layernorm{"layernorm"};

// dx = ∂L/∂x (overwritten), dgamma += Σ_rows dy·x̂, dbeta += Σ_rows dy, from the forward's mean and rstd.
struct LayerNormBackwardArgs {
  Tensor dy, x, gamma, mean, rstd, dx, dgamma, dbeta;
  DType dtype() const { return dx.dtype(); }
};
inline constexpr OpKey<LayerNormBackwardArgs> layernorm_backward{"layernorm_backward"};

// Causal softmax over the last dimension of scores (BH, T, T): probs[i, j] = softmax_j(scale·scores[i, j])
// for j ≤ i, and 0 for j > i. probs may alias scores.
struct CausalSoftmaxArgs {
  Tensor scores, probs;
  double scale = 1.0;
  DType dtype() const { return probs.dtype(); }
};
inline constexpr OpKey<CausalSoftmaxArgs> causal_softmax{"causal_softmax"};

// dscores = scale · probs ⊙ (dprobs − Σ_j dprobs⊙probs), 0 above the diagonal. dscores may alias dprobs.
struct CausalSoftmaxBackwardArgs {
  Tensor probs, dprobs, dscores;
  double scale = 1.0;
  DType dtype() const { return dscores.dtype(); }
};
inline constexpr OpKey<CausalSoftmaxBackwardArgs> causal_softmax_backward{"causal_softmax_backward"};

// Fused causal attention (FlashAttention): the (T, T) scores and probabilities are never stored. Per (bh, i),
// with s_ij = scale·q_i·k_j over the visible keys j ≤ i:
//   lse[bh, i] = log Σ_{j ≤ i} exp(s_ij);   out[bh, i, :] = Σ_{j ≤ i} exp(s_ij − lse[bh, i])·v[bh, j, :]
// q, k, v, out: (BH, T, d), one dtype; lse: (BH, T) in flash_attention_lse_dtype (kept for the backward
// pass). All contiguous; out and lse must not overlap the inputs or each other.
// The largest head size d every backend's fused attention takes (the GPU kernels keep a row of q, out and the
// accumulators in registers); a model with larger heads (MT-NLG 530B: 160) uses the unfused ops.
inline constexpr std::int64_t kFlashAttentionMaxHeadDim = 128;

struct FlashAttentionArgs {
  Tensor q, k, v, out, lse;
  double scale = 1.0;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<FlashAttentionArgs> flash_attention{"flash_attention"};

// lse's dtype: the accumulation type, f64 for f64 operands and f32 for f32, bf16 and f16 ones (a log-sum-exp
// rounded to 16 bits would cost the backward pass most of its accuracy).
constexpr DType flash_attention_lse_dtype(DType dtype) {
  return dtype == DType::f64 ? DType::f64 : DType::f32;
}

// The gradients of flash_attention (FlashAttention-2's backward), from the forward's out and lse: with
// P_ij = exp(s_ij − lse_i) for j ≤ i (0 above the diagonal) and D_i = Σ_c dout_ic·out_ic,
//   dv_j = Σ_i P_ij·dout_i;  dS_ij = P_ij·(dout_i·v_j − D_i);  dq_i = scale·Σ_j dS_ij·k_j;
//   dk_j = scale·Σ_i dS_ij·q_i.
// dq, dk, dv are overwritten. Shapes and dtypes as for flash_attention; dout, dq, dk, dv: (BH, T, d). All
// contiguous; dq, dk, dv must not overlap the inputs or each other.
struct FlashAttentionBackwardArgs {
  Tensor q, k, v, out, lse, dout, dq, dk, dv;
  double scale = 1.0;
  DType dtype() const { return dq.dtype(); }
};
inline constexpr OpKey<FlashAttentionBackwardArgs> flash_attention_backward{"flash_attention_backward"};

// losses[i] = log Σ_{j < valid_cols} exp(logits[i, j]) − logits[i, targets[i]]: columns at or beyond
// valid_cols (vocabulary padding) count as −∞. logits: (N, V) contiguous; targets: (N) i32 in
// [0, valid_cols) — otherwise an error naming the row and token; losses: (N), in a statistics dtype (below).
//
// Every op of the cross-entropy family computes in f32 or wider and rounds each result once. Its per-row
// statistics (losses, row_max's out, sum_exp, target_logit) are in the logits' dtype or, for 16-bit logits,
// in f32 (cross_entropy_stats_dtype_ok): Megatron computes the loss in fp32, and f32 statistics give that
// loss straight from the bf16/f16 logits, without an f32 copy of the (N, V) logits — the largest activation
// of a GPT step. dlogits stays in the logits' dtype, rounded once from its f32 value, which is what casting
// Megatron's f32 gradient back to bf16 gives. (16-bit statistics would round a loss to 16 bits: bf16 keeps 8
// significant bits, ~0.03 at a loss of 10.)
constexpr bool cross_entropy_stats_dtype_ok(DType logits, DType stats) {
  return stats == logits || (stats == DType::f32 && (logits == DType::bf16 || logits == DType::f16));
}
// The statistics dtype to choose: f32 for 16-bit logits, else the logits' own.
constexpr DType cross_entropy_stats_dtype(DType logits) {
  return logits == DType::bf16 || logits == DType::f16 ? DType::f32 : logits;
}

struct CrossEntropyArgs {
  Tensor logits, targets, losses;
  std::int64_t valid_cols = 0;
  DType dtype() const { return logits.dtype(); }
};
inline constexpr OpKey<CrossEntropyArgs> cross_entropy{"cross_entropy"};

// dlogits[i, j] = weight · (softmax(logits[i, :valid_cols])_j − [j == targets[i]]) for j < valid_cols, 0 for
// the padding columns: the gradient of weight · Σ_i losses[i]. dlogits may alias logits.
struct CrossEntropyBackwardArgs {
  Tensor logits, targets, dlogits;
  std::int64_t valid_cols = 0;
  double weight = 1.0;
  DType dtype() const { return dlogits.dtype(); }
};
inline constexpr OpKey<CrossEntropyBackwardArgs> cross_entropy_backward{"cross_entropy_backward"};

// ---- Vocabulary-parallel cross-entropy (Megatron) -------------------------------------------------------
// With tensor parallelism each rank holds the logits' columns [col_offset, col_offset + Vl) of the full
// (N, V) logits; of those, the local columns j < valid_cols belong to the real vocabulary and the rest is
// padding (valid_cols may be 0: a slice of padding only). A rank computes
//   row_max (then all-reduce MAX) → cross_entropy_partial (then all-reduce SUM of sum_exp and target_logit)
//   → cross_entropy_from_parts = cross_entropy's losses, and cross_entropy_partial_backward for its columns
// of cross_entropy_backward's dlogits. With one slice (col_offset 0, Vl = V) the results equal cross_entropy
// and cross_entropy_backward.

// out[i] = max_{j < valid_cols} x[i, j]; −∞ when valid_cols = 0 (a slice of vocabulary padding only).
// x: (N, V) contiguous; out: (N), a statistics dtype of x's (exact either way); valid_cols in [0, V].
struct RowMaxArgs {
  Tensor x, out;
  std::int64_t valid_cols = 0;
  DType dtype() const { return x.dtype(); }
};
inline constexpr OpKey<RowMaxArgs> row_max{"row_max"};

// logits (N, Vl) are columns [col_offset, col_offset + Vl) of the full logits; local columns j < valid_cols
// count (valid_cols in [0, Vl]). row_max (N) is the global row max (all ranks' row_max, all-reduced with
// MAX). sum_exp[i] = Σ_{j < valid_cols} exp(logits[i, j] − row_max[i]); target_logit[i] =
// logits[i, targets[i] − col_offset] when col_offset ≤ targets[i] < col_offset + valid_cols, else 0, so that
// an all-reduce SUM over the slices gives the target's logit. targets: (N) i32, each ≥ 0, and below
// vocab_size when that is given (> 0: the full vocabulary, at least col_offset + valid_cols unless the slice
// is all padding) — otherwise an error naming the row and token (a slice cannot tell a target in another
// slice from one in no slice).
// row_max, sum_exp, target_logit: (N), one statistics dtype of the logits'. All contiguous.
struct CrossEntropyPartialArgs {
  Tensor logits, targets, row_max, sum_exp, target_logit;
  std::int64_t col_offset = 0, valid_cols = 0;
  std::int64_t vocab_size = 0;  // 0: targets are only checked to be ≥ 0
  DType dtype() const { return logits.dtype(); }
};
inline constexpr OpKey<CrossEntropyPartialArgs> cross_entropy_partial{"cross_entropy_partial"};

// losses[i] = log(sum_exp[i]) + row_max[i] − target_logit[i], from the all-reduced parts. All (N),
// contiguous, losses' dtype; losses may alias any input (the very same view).
struct CrossEntropyFromPartsArgs {
  Tensor row_max, sum_exp, target_logit, losses;
  DType dtype() const { return losses.dtype(); }
};
inline constexpr OpKey<CrossEntropyFromPartsArgs> cross_entropy_from_parts{"cross_entropy_from_parts"};

// dlogits[i, j] = weight · (exp(logits[i, j] − row_max[i]) / sum_exp[i] − [j + col_offset == targets[i]]) for
// j < valid_cols, 0 for the padding columns: this slice's columns of cross_entropy_backward's dlogits.
// Shapes and fields as for cross_entropy_partial; row_max and sum_exp are the all-reduced values, in one
// statistics dtype of the logits'; dlogits: (N, Vl), logits' dtype, may alias logits (the very same view).
// targets checked as for cross_entropy_partial.
struct CrossEntropyPartialBackwardArgs {
  Tensor logits, targets, row_max, sum_exp, dlogits;
  std::int64_t col_offset = 0, valid_cols = 0;
  double weight = 1.0;
  std::int64_t vocab_size = 0;  // 0: targets are only checked to be ≥ 0
  DType dtype() const { return dlogits.dtype(); }
};
inline constexpr OpKey<CrossEntropyPartialBackwardArgs> cross_entropy_partial_backward{
    "cross_entropy_partial_backward"};

// Inverted dropout from a counter-based stream: x is viewed as (B, M) (B = x.dim(0) samples); element (b, m)
// is kept when u > p, u = uniform draw of Philox at key `key`, counter {m', m' >> 32, s, s >> 32} with
// m' = m + element_offset and s = first_sample + b, and kept values are scaled by 1/(1 − p). The same
// (key, sample, element) gives the same decision in every layout and on recomputation; element_offset places
// a tensor-parallel slice inside the full tensor. out may alias x. p in [0, 1).
struct DropoutArgs {
  Tensor x, out;
  double p = 0.0;
  std::uint32_t key[2] = {0, 0};
  std::int64_t first_sample = 0;
  std::int64_t element_offset = 0;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<DropoutArgs> dropout{"dropout"};
// dx = dy ⊙ mask / (1 − p): the forward's mask, regenerated from the same stream. Same fields, x = dy, out =
// dx.
inline constexpr OpKey<DropoutArgs> dropout_backward{"dropout_backward"};

// One AdamW step on contiguous param, grad, m, v of equal size (m, v in the param's dtype):
//   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  m̂ = m/(1−β1^step);  v̂ = v/(1−β2^step)
//   param = param − lr·(m̂ / (√v̂ + eps) + weight_decay·param)
struct AdamWArgs {
  Tensor param, grad, m, v;
  double lr = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  std::int64_t step = 1;  // 1-based, for the bias correction
  DType dtype() const { return param.dtype(); }
};
inline constexpr OpKey<AdamWArgs> adamw{"adamw"};

}  // namespace mtnlg::ops
