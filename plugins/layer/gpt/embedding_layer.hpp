#pragma once
// Token embedding plus learned positions, then hidden dropout: tokens (B, T) i32 -> (B, T, C).
// The word embedding (padded_vocab, C) is tied to the LM head's (tie "word_embeddings"); rows at or past
// vocab_size are padding, zero from initialisation on.
#include "model_dims.hpp"

namespace mtnlg::gpt {

class EmbeddingLayer final : public Layer {
 public:
  explicit EmbeddingLayer(const CreateArgs& args) : dims_(args.recipe), index_(args.index) {}

 protected:
  std::vector<ParamSpec> do_parameters() const override;
  Tensor do_forward(const LayerStep& step, const Tensor& tokens, SavedState& saved) override;
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override;

 private:
  Dropout dropout() const { return {dims_.hidden_dropout, dims_.seed, index_, "embedding_dropout"}; }

  ModelDims dims_;
  int index_;
};

}  // namespace mtnlg::gpt
