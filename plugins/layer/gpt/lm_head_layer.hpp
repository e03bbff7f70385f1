#pragma once
// The LM head tied to the input embedding, with cross-entropy: the loss layer of a GPT.
//   logits = x · Wᵀ  (B·T, padded_vocab); padded columns count as −∞
//   loss   = mean over the B·T positions of (log Σ_j exp(logits_j) − logits_target)
#include "model_dims.hpp"

namespace mtnlg::gpt {

class LmHeadLayer final : public Layer {
 public:
  explicit LmHeadLayer(const CreateArgs& args) : dims_(args.recipe) {}

 protected:
  bool do_is_loss() const override { return true; }
  std::vector<ParamSpec> do_parameters() const override;
  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override;
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override;

 private:
  ModelDims dims_;
};

}  // namespace mtnlg::gpt
