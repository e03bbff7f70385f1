#include "embedding_layer.hpp"

#include <algorithm>

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
  // Incremental decoding: the tokens are at positions [first, first + T).
  const std::int64_t first = std::max<std::int64_t>(step.decode_position, 0);
  MTNLG_CHECK(tokens.ndim() == 2 && tokens.dtype() == DType::i32 && first + tokens.dim(1) <= dims_.seq_len,
              str("the embedding expects token ids (B, T) i32 at positions below model.seq_len = ",
                  dims_.seq_len, ", got ", tokens.describe(), first > 0 ? str(" at position ", first) : ""));
  const Tensor table = step.params.value("word_embeddings");  // (V/TP, C): this rank's rows
  Tensor out = step.backend.empty({tokens.dim(0), tokens.dim(1), dims_.hidden}, table.dtype());  // (B, T, C)
  const Tensor positions = step.params.value("position_embeddings");                             // (S, C)
  ops::EmbeddingArgs args{tokens, table, positions.slice(0, first, dims_.seq_len - first), out, dims_.vocab};
  if (dims_.tensor > 1) {
    // Vocabulary-parallel: each rank looks up the tokens in its rows (zero for the others) and the sum over
    // the ranks is the embedding; the positions are added once, on tensor rank 0.
    args.row_offset = step.tensor_rank() * dims_.local_vocab();
    args.full_rows = dims_.padded_vocab;
    if (step.tensor_rank() != 0) args.positions = Tensor();
  }
  step.backend.run(ops::embedding, args);
  step.sum_over_tensor_parallel(out);
  dropout().forward_in_place(step, out);
  saved.put("tokens", tokens);
  return out;
}

Tensor EmbeddingLayer::do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) {
  // dy is the same on every tensor rank: each adds its rows' part of dtable and the whole dpositions (the
  // position table is replicated, and its replicas' gradients are already equal).
  ops::EmbeddingBackwardArgs args{saved.get("tokens"), dropout().backward(step, dy),
                                  step.params.grad("word_embeddings"),
                                  step.params.grad("position_embeddings")};
  if (dims_.tensor > 1) {
    args.row_offset = step.tensor_rank() * dims_.local_vocab();
    args.full_rows = dims_.padded_vocab;
  }
  step.backend.run(ops::embedding_backward, args);
  return {};  // token ids have no gradient
}

}  // namespace mtnlg::gpt
