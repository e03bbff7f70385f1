#pragma once
// The LM head tied to the input embedding, with cross-entropy: the loss layer of a GPT.
//   logits = x · Wᵀ  (B·T, padded_vocab); padded columns count as −∞
//   loss   = mean over the B·T positions of (log Σ_j exp(logits_j) − logits_target)
// With tensor parallelism each rank holds V/TP rows of the tied weight, computes its (B·T, V/TP) logits and
// the loss comes from all-reduced row maxima and sums; the full logits never exist on one rank. One rank
// computes its loss the same way, from its row maxima and sums.
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
  // Columns of this rank's vocabulary slice that are real tokens (the rest is padding).
  std::int64_t local_valid_cols(const LayerStep& step) const;
  void loss_from_parts(const LayerStep& step, const Tensor& logits, const Tensor& targets,
                       const Tensor& losses, SavedState& saved) const;
  ModelDims dims_;
};

}  // namespace mtnlg::gpt
