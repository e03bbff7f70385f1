#pragma once
// The core of causal multi-head self-attention, separable so a recomputation policy can target it:
// qkv (B, T, 3C) -> y (B, T, C). The 3C features are laid out per head as Megatron does, [q_h | k_h | v_h]
// for head h, so that splitting them across tensor-parallel ranks keeps whole heads together.
//   S = q·kᵀ (B·H, T, T);  P = causal_softmax(S / √d);  P' = dropout(P);  y = P'·v (B·H, T, d)
// Without attention dropout (evaluation, or attention_dropout = 0) and on a backend that has it, the fused
// flash_attention op computes y without the (B·H, T, T) matrices, in memory and in saved state; dropout needs
// the materialised probabilities, so it keeps the path above.
#include "model_dims.hpp"

namespace mtnlg::gpt {

class AttentionCoreLayer final : public Layer {
 public:
  explicit AttentionCoreLayer(const CreateArgs& args) : dims_(args.recipe), index_(args.index) {}

 protected:
  Tensor do_forward(const LayerStep& step, const Tensor& qkv, SavedState& saved) override;
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override;

 private:
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
};

}  // namespace mtnlg::gpt
