#pragma once
// The core of causal multi-head self-attention, separable so a recomputation policy can target it:
// qkv (B, T, 3C) -> y (B, T, C). The 3C features are laid out per head as Megatron does, [q_h | k_h | v_h]
// for head h, so that splitting them across tensor-parallel ranks keeps whole heads together.
//   S = q·kᵀ (B·H, T, T);  P = causal_softmax(S / √d);  P' = dropout(P);  y = P'·v (B·H, T, d)
// Without attention dropout (evaluation, or attention_dropout = 0) and on a backend that has it, the fused
// flash_attention op computes y without the (B·H, T, T) matrices, in memory and in saved state; dropout needs
// the materialised probabilities, so it keeps the path above.
// Selective recomputation (train.recompute = "selective", Korthikanti et al. 2022): the path above saves only
// q, k, v and recomputes P and P' from them in the backward, instead of keeping two (B·H, T, T) tensors
// (one when dropout is off) per micro-batch in flight. The layer does it itself because only it knows which
// activations are cheap to redo; the fused path stores no (T, T) tensor, so there it changes nothing.
// Incremental decoding (LayerStep::decode_position >= 0, generation): the first call (position 0, the prompt)
// runs as above and keeps k and v in a cache of model.seq_len positions; every later call brings one new
// position, whose query attends to the cached keys and values and its own — no earlier position is
// recomputed.
#include "model_dims.hpp"

namespace mtnlg::gpt {

class AttentionCoreLayer final : public Layer {
 public:
  explicit AttentionCoreLayer(const CreateArgs& args)
      : dims_(args.recipe), index_(args.index), recompute_(selective_recomputation(args.recipe)) {}

 protected:
  Tensor do_forward(const LayerStep& step, const Tensor& qkv, SavedState& saved) override;
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override;

 private:
  // y (B·H, T, d) for this rank's heads, q, k, v each (B·H, T, d): the causal attention of a whole sequence.
  Tensor attend(const LayerStep& step, const Tensor& q, const Tensor& k, const Tensor& v, std::int64_t b,
                std::int64_t t, SavedState& saved) const;
  // Incremental decoding: appends k and v (B·H, T, d) at step.decode_position to the cache in `saved`, and
  // returns y (B·H, T, d): the whole prompt's attention at position 0, else one position's (T = 1) over the
  // cache.
  Tensor attend_cached(const LayerStep& step, const Tensor& q, const Tensor& k, const Tensor& v,
                       std::int64_t b, std::int64_t t, SavedState& saved) const;
  // P = causal_softmax(q·kᵀ/√d) and P' = dropout(P), both (B·H, T, T); P' is P itself when dropout is off.
  struct Probabilities {
    Tensor probs, dropped;
  };
  Probabilities probabilities(const LayerStep& step, const Tensor& q, const Tensor& k, std::int64_t b,
                              std::int64_t t) const;
  static bool selective_recomputation(const Table& recipe) {
    const Value* mode = recipe.find_path("train.recompute");
    return mode != nullptr && mode->as_string() == "selective";
  }
  Dropout dropout() const { return {dims_.attention_dropout, dims_.seed, index_, "attention_dropout"}; }
  // Whether this step takes the fused path: no dropout to apply, a head size the fused op takes, and both
  // passes on this backend for dtype.
  bool fused(const LayerStep& step, DType dtype) const {
    return !dropout().active(step) && dims_.head_dim() <= ops::kFlashAttentionMaxHeadDim &&
           step.backend.supports(ops::flash_attention.name, dtype) &&
           step.backend.supports(ops::flash_attention_backward.name, dtype);
  }
  // Where this rank's heads start in a sample's (H, T, T) probabilities: the mask is keyed by the full index.
  std::int64_t mask_offset(const LayerStep& step, std::int64_t t) const {
    return step.tensor_rank() * dims_.local_heads() * t * t;
  }

  ModelDims dims_;
  int index_;
  bool recompute_;  // selective: the unfused path keeps q, k, v only
};

}  // namespace mtnlg::gpt
