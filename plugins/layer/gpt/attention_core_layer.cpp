#include "attention_core_layer.hpp"

#include <cmath>

namespace mtnlg::gpt {

namespace {

// View of part `which` (0 q, 1 k, 2 v) of qkv (B, T, 3C) as (B, H, T, 1, d), strided: no copy.
Tensor qkv_part(const Tensor& qkv, std::int64_t heads, std::int64_t d, int which) {
  const std::int64_t b = qkv.dim(0), t = qkv.dim(1);
  return qkv.reshape({b, t, heads, 3, d}).slice(3, which, 1).transpose(1, 2);
}

// A contiguous (B·H, T, d) copy of part `which`.
Tensor gather_part(Backend& backend, const Tensor& qkv, std::int64_t heads, std::int64_t d, int which) {
  const Tensor view = qkv_part(qkv, heads, d, which);
  Tensor out = backend.empty(view.shape(), qkv.dtype());
  backend.run(ops::copy, ops::CopyArgs{view, out});
  return out.reshape({qkv.dim(0) * heads, qkv.dim(1), d});
}

}  // namespace

Tensor AttentionCoreLayer::do_forward(const LayerStep& step, const Tensor& qkv, SavedState& saved) {
  // This rank's heads only: with tensor parallelism qkv holds H/TP whole heads.
  const std::int64_t h = dims_.local_heads(), d = dims_.head_dim(), c = h * d;
  MTNLG_CHECK(qkv.ndim() == 3 && qkv.dim(2) == 3 * c,
              str("attention core expects qkv (B, T, 3·hidden/tensor = ", 3 * c, "), got ", qkv.describe()));
  const std::int64_t b = qkv.dim(0), t = qkv.dim(1);
  Backend& be = step.backend;
  const Tensor q = gather_part(be, qkv, h, d, 0), k = gather_part(be, qkv, h, d, 1),
               v = gather_part(be, qkv, h, d, 2);
  const Tensor y = step.decode_position >= 0 ? attend_cached(step, q, k, v, b, t, saved)
                                             : attend(step, q, k, v, b, t, saved);  // (B·H, T, d)
  // (B, H, T, d) -> (B, T, H, d) = (B, T, C)
  Tensor out = be.empty({b, t, h, d}, qkv.dtype());
  be.run(ops::copy, ops::CopyArgs{y.reshape({b, h, t, d}).transpose(1, 2), out});

  saved.put("q", q);
  saved.put("k", k);
  saved.put("v", v);
  return out.reshape({b, t, c});
}

Tensor AttentionCoreLayer::attend(const LayerStep& step, const Tensor& q, const Tensor& k, const Tensor& v,
                                  std::int64_t b, std::int64_t t, SavedState& saved) const {
  Backend& be = step.backend;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dims_.head_dim()));
  Tensor y = be.empty({b * dims_.local_heads(), t, dims_.head_dim()}, q.dtype());  // (B·H, T, d)
  if (fused(step, q.dtype())) {
    Tensor lse = be.empty({y.dim(0), t}, ops::flash_attention_lse_dtype(q.dtype()));
    be.run(ops::flash_attention, ops::FlashAttentionArgs{q, k, v, y, lse, scale});
    saved.put("out", y);
    saved.put("lse", lse);
  } else {
    const Probabilities p = probabilities(step, q, k, b, t);
    be.run(ops::gemm, ops::GemmArgs{p.dropped, v, y});
    if (!recompute_) {
      saved.put("probs", p.probs);
      saved.put("dropped", p.dropped);
    }
  }
  return y;
}

Tensor AttentionCoreLayer::attend_cached(const LayerStep& step, const Tensor& q, const Tensor& k,
                                         const Tensor& v, std::int64_t b, std::int64_t t,
                                         SavedState& saved) const {
  Backend& be = step.backend;
  const std::int64_t bh = b * dims_.local_heads(), d = dims_.head_dim(), at = step.decode_position;
  MTNLG_CHECK(!step.training, "incremental decoding is for inference only");
  MTNLG_CHECK(at + t <= dims_.seq_len, str("incremental decoding past model.seq_len = ", dims_.seq_len,
                                           " positions (position ", at, " + ", t, ")"));
  SavedState& cache = saved.child("kv_cache");
  if (at == 0) {
    // The prompt: the whole-sequence attention, and its keys and values into a cache of seq_len positions.
    cache.put("k", be.empty({bh, dims_.seq_len, d}, k.dtype()));  // (B·H, S, d)
    cache.put("v", be.empty({bh, dims_.seq_len, d}, v.dtype()));
  } else {
    MTNLG_CHECK(t == 1, str("incremental decoding after the prompt takes one position per call, got ", t));
    MTNLG_CHECK(cache.contains("k") && cache.get("k").dim(0) == bh,
                str("incremental decoding at position ", at,
                    " without the cache of the earlier positions (start at position 0, same batch)"));
  }
  const Tensor k_cache = cache.get("k"), v_cache = cache.get("v");
  be.run(ops::copy, ops::CopyArgs{k, k_cache.slice(1, at, t)});
  be.run(ops::copy, ops::CopyArgs{v, v_cache.slice(1, at, t)});
  if (at == 0) return attend(step, q, k, v, b, t, saved);

  // One query per sequence and head over positions [0, at]: every cached key is visible, so the softmax is a
  // plain one over L = at + 1 scores, computed with the cross-entropy ops (their gradient with a target that
  // matches no column is the softmax itself).
  const std::int64_t l = at + 1;
  const Tensor keys = k_cache.slice(1, 0, l), values = v_cache.slice(1, 0, l);  // (B·H, L, d), strided
  Tensor scores = be.empty({bh, 1, l}, q.dtype());                              // (B·H, 1, L)
  be.run(ops::gemm, ops::GemmArgs{q, keys, scores, false, true, 1.0 / std::sqrt(static_cast<double>(d))});
  const Tensor rows = scores.reshape({bh, l});
  const DType stats =
      ops::cross_entropy_stats_dtype(q.dtype());  // f32 for 16-bit: a 16-bit Σ exp loses digits
  Tensor no_target = be.empty({bh}, DType::i32), row_max = be.empty({bh}, stats),
         sum_exp = be.empty({bh}, stats), unused = be.empty({bh}, stats);
  be.run(ops::fill, ops::FillArgs{no_target, static_cast<double>(l)});
  be.run(ops::row_max, ops::RowMaxArgs{.x = rows, .out = row_max, .valid_cols = l});
  be.run(ops::cross_entropy_partial, ops::CrossEntropyPartialArgs{.logits = rows,
                                                                  .targets = no_target,
                                                                  .row_max = row_max,
                                                                  .sum_exp = sum_exp,
                                                                  .target_logit = unused,
                                                                  .valid_cols = l});
  // Probabilities in place: the op allows dlogits to be the very same view as logits.
  be.run(ops::cross_entropy_partial_backward, ops::CrossEntropyPartialBackwardArgs{.logits = rows,
                                                                                   .targets = no_target,
                                                                                   .row_max = row_max,
                                                                                   .sum_exp = sum_exp,
                                                                                   .dlogits = rows,
                                                                                   .valid_cols = l});
  Tensor y = be.empty({bh, 1, d}, q.dtype());
  be.run(ops::gemm, ops::GemmArgs{scores, values, y});  // (B·H, 1, L)·(B·H, L, d)
  return y;
}

AttentionCoreLayer::Probabilities AttentionCoreLayer::probabilities(const LayerStep& step, const Tensor& q,
                                                                    const Tensor& k, std::int64_t b,
                                                                    std::int64_t t) const {
  Backend& be = step.backend;
  const std::int64_t h = dims_.local_heads();
  const double scale = 1.0 / std::sqrt(static_cast<double>(dims_.head_dim()));
  Probabilities p;
  p.probs = be.empty({b * h, t, t}, q.dtype());  // scores, then probabilities in place
  be.run(ops::gemm, ops::GemmArgs{q, k, p.probs, false, true});
  be.run(ops::causal_softmax, ops::CausalSoftmaxArgs{p.probs, p.probs, scale});
  // P' = dropout(P), viewed as (B, H·T·T): the mask is keyed by (sample, head, query, key position).
  p.dropped = p.probs;
  if (dropout().active(step)) {
    p.dropped = be.empty(p.probs.shape(), p.probs.dtype());
    be.run(ops::copy, ops::CopyArgs{p.probs, p.dropped});
    dropout().forward_in_place(step, p.dropped.reshape({b, -1}), mask_offset(step, t));
  }
  return p;
}

Tensor AttentionCoreLayer::do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) {
  const std::int64_t h = dims_.local_heads(), d = dims_.head_dim();
  const std::int64_t b = dy.dim(0), t = dy.dim(1);
  Backend& be = step.backend;
  const Tensor &q = saved.get("q"), &k = saved.get("k"), &v = saved.get("v");
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));

  // dy (B, T, C) -> (B·H, T, d)
  Tensor dyh = be.empty({b, h, t, d}, dy.dtype());
  be.run(ops::copy, ops::CopyArgs{dy.reshape({b, t, h, d}).transpose(1, 2), dyh});
  dyh = dyh.reshape({b * h, t, d});

  Tensor dq = be.empty({b * h, t, d}, dy.dtype()), dk = be.empty({b * h, t, d}, dy.dtype()),
         dv = be.empty({b * h, t, d}, dy.dtype());
  if (saved.contains("lse")) {  // the forward took the fused path
    be.run(
        ops::flash_attention_backward,
        ops::FlashAttentionBackwardArgs{q, k, v, saved.get("out"), saved.get("lse"), dyh, dq, dk, dv, scale});
  } else {
    // Selective recomputation saved no probabilities: the same ops on the same q, k and dropout key give
    // them again, bitwise.
    Probabilities p = saved.contains("probs") ? Probabilities{saved.get("probs"), saved.get("dropped")}
                                              : probabilities(step, q, k, b, t);
    be.run(ops::gemm, ops::GemmArgs{p.dropped, dyh, dv, true, false});  // dv = P'ᵀ·dy
    p.dropped = Tensor();  // a recomputed P' is freed before dP is allocated
    const Tensor& probs = p.probs;
    Tensor dprobs = be.empty({b * h, t, t}, dy.dtype());
    be.run(ops::gemm, ops::GemmArgs{dyh, v, dprobs, false, true});  // dP' = dy·vᵀ
    dprobs =
        dropout().backward(step, dprobs.reshape({b, -1}), mask_offset(step, t)).reshape({b * h, t, t});  // dP
    be.run(ops::causal_softmax_backward, ops::CausalSoftmaxBackwardArgs{probs, dprobs, dprobs, scale});  // dS
    be.run(ops::gemm, ops::GemmArgs{dprobs, k, dq});               // dq = dS·k
    be.run(ops::gemm, ops::GemmArgs{dprobs, q, dk, true, false});  // dk = dSᵀ·q
  }

  Tensor dqkv = be.empty({b, t, 3 * h * d}, dy.dtype());
  const Tensor parts[3] = {dq, dk, dv};
  for (int which = 0; which < 3; ++which)
    be.run(ops::copy, ops::CopyArgs{parts[which].reshape({b, h, t, 1, d}), qkv_part(dqkv, h, d, which)});
  return dqkv;
}

}  // namespace mtnlg::gpt
