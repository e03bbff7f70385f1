#include "lm_head_layer.hpp"

namespace mtnlg::gpt {

std::vector<ParamSpec> LmHeadLayer::do_parameters() const {
  // The same declaration as the embedding's: whichever comes first allocates and initialises it.
  return {{.name = "word_embeddings",
           .shape = {dims_.padded_vocab, dims_.hidden},
           .init = InitSpec::normal_rows(dims_.init_std, dims_.vocab),
           .tp_dim = 0,
           .tie = "word_embeddings"}};
}

Tensor LmHeadLayer::do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) {
  MTNLG_CHECK(step.targets != nullptr, "the LM head needs targets from the reader");
  Backend& be = step.backend;
  const Tensor x2 = x.reshape({-1, dims_.hidden});  // (N, C)
  const std::int64_t n = x2.dim(0);
  MTNLG_CHECK(step.targets->numel() == n && step.targets->dtype() == DType::i32,
              str("the LM head needs one i32 target per position (", n, "), got ", step.targets->describe()));
  Tensor logits = be.empty({n, dims_.padded_vocab}, x.dtype());  // (N, V)
  be.run(ops::gemm, ops::GemmArgs{x2, step.params.value("word_embeddings"), logits, false, true});
  Tensor losses = be.empty({n}, x.dtype());
  const Tensor targets = step.targets->reshape({n});
  be.run(ops::cross_entropy, ops::CrossEntropyArgs{logits, targets, losses, dims_.vocab});
  Tensor loss = be.empty({1}, x.dtype());
  be.run(ops::column_sum, ops::ColumnSumArgs{losses.reshape({n, 1}), loss});
  be.run(ops::scale, ops::ScaleArgs{loss, 1.0 / static_cast<double>(n)});
  saved.put("x", x2);
  saved.put("logits", logits);
  return loss;
}

Tensor LmHeadLayer::do_backward(const LayerStep& step, const Tensor&, SavedState& saved) {
  Backend& be = step.backend;
  const Tensor& x2 = saved.get("x");
  const Tensor& logits = saved.get("logits");
  const std::int64_t n = x2.dim(0);
  // d(mean loss)/d logits, written over the logits (no longer needed): (N, V)
  be.run(ops::cross_entropy_backward,
         ops::CrossEntropyBackwardArgs{logits, step.targets->reshape({n}), logits, dims_.vocab,
                                       step.loss_weight / static_cast<double>(n)});
  const Tensor w = step.params.value("word_embeddings");
  be.run(ops::gemm, ops::GemmArgs{logits, x2, step.params.grad("word_embeddings"), true, false, 1.0, 1.0});
  Tensor dx = be.empty(x2.shape(), x2.dtype());
  be.run(ops::gemm, ops::GemmArgs{logits, w, dx});
  return dx.reshape({-1, step.targets->dim(-1), dims_.hidden});
}

}  // namespace mtnlg::gpt
