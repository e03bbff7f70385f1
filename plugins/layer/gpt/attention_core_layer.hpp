#pragma once
// The core of causal multi-head self-attention, separable so a recomputation policy can target it:
// qkv (B, T, 3C) -> y (B, T, C). The 3C features are laid out per head as Megatron does, [q_h | k_h | v_h]
// for head h, so that splitting them across tensor-parallel ranks keeps whole heads together.
//   S = q·kᵀ (B·H, T, T);  P = causal_softmax(S / √d);  P' = dropout(P);  y = P'·v (B·H, T, d)
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
  // Where this rank's heads start in a sample's (H, T, T) probabilities: the mask is keyed by the full index.
  std::int64_t mask_offset(const LayerStep& step, std::int64_t t) const {
    return step.tensor_rank() * dims_.local_heads() * t * t;
  }

  ModelDims dims_;
  int index_;
};

}  // namespace mtnlg::gpt
