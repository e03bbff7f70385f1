#include "embedding_layer.hpp"

namespace mtnlg::gpt {

std::vector<ParamSpec> EmbeddingLayer::do_parameters() const {
  return {
      {.name = "word_embeddings",
       .shape = {dims_.padded_vocab, dims_.hidden},
       .init = InitSpec::normal_rows(dims_.init_std, dims_.vocab),
       .tp_dim = 0,
       .tie = "word_embeddings"},
      {.name = "position_embeddings",
       .shape = {dims_.seq_len, dims_.hidden},
       .init = InitSpec::normal(dims_.init_std)},
  };
}

Tensor EmbeddingLayer::do_forward(const LayerStep& step, const Tensor& tokens, SavedState& saved) {
  MTNLG_CHECK(tokens.ndim() == 2 && tokens.dtype() == DType::i32 && tokens.dim(1) <= dims_.seq_len,
              str("the embedding expects token ids (B, T) i32 with T <= model.seq_len = ", dims_.seq_len,
                  ", got ", tokens.describe()));
  const Tensor table = step.params.value("word_embeddings");
  Tensor out = step.backend.empty({tokens.dim(0), tokens.dim(1), dims_.hidden}, table.dtype());  // (B, T, C)
  step.backend.run(ops::embedding, ops::EmbeddingArgs{tokens, table, step.params.value("position_embeddings"),
                                                      out, dims_.vocab});
  dropout().forward_in_place(step, out);
  saved.put("tokens", tokens);
  return out;
}

Tensor EmbeddingLayer::do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) {
  step.backend.run(ops::embedding_backward,
                   ops::EmbeddingBackwardArgs{saved.get("tokens"), dropout().backward(step, dy),
                                              step.params.grad("word_embeddings"),
                                              step.params.grad("position_embeddings")});
  return {};  // token ids have no gradient
}

}  // namespace mtnlg::gpt
