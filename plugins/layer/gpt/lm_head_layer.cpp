#include "lm_head_layer.hpp"

#include <algorithm>

namespace mtnlg::gpt {

std::vector<ParamSpec> LmHeadLayer::do_parameters() const {
  // The same declaration as the embedding's: whichever comes first allocates and initialises it.
  return {{.name = "word_embeddings",
           .shape = {dims_.padded_vocab, dims_.hidden},
           .init = InitSpec::normal_rows(dims_.init_std, dims_.vocab),
           .tp_dim = 0,
           .tie = "word_embeddings"}};
}

std::int64_t LmHeadLayer::local_valid_cols(const LayerStep& step) const {
  const std::int64_t offset = step.tensor_rank() * dims_.local_vocab();
  return std::clamp<std::int64_t>(dims_.vocab - offset, 0, dims_.local_vocab());
}

void LmHeadLayer::loss_from_parts(const LayerStep& step, const Tensor& logits, const Tensor& targets,
                                  const Tensor& losses, SavedState& saved) const {
  // Megatron's vocabulary-parallel cross-entropy: the row max over all ranks (MAX), then the sums of
  // exp(logit − max) and of the target logit, which only its owning rank contributes (SUM). Without tensor
  // parallelism too: the row max and sum it keeps let the backward pass read the logits once, where
  // cross_entropy_backward would find them again (two more passes over the (N, V) logits).
  Backend& be = step.backend;
  const std::int64_t n = logits.dim(0);
  Tensor row_max = be.empty({n}, losses.dtype());
  ops::RowMaxArgs max_args;
  max_args.x = logits;
  max_args.out = row_max;
  max_args.valid_cols = local_valid_cols(step);
  be.run(ops::row_max, max_args);
  step.sum_over_tensor_parallel(row_max, ReduceOp::max);
  Tensor parts = be.empty({2, n}, losses.dtype());  // sum_exp, target_logit: one all-reduce for both
  ops::CrossEntropyPartialArgs part_args;
  part_args.logits = logits;
  part_args.targets = targets;
  part_args.row_max = row_max;
  part_args.sum_exp = parts.slice(0, 0, 1).reshape({n});
  part_args.target_logit = parts.slice(0, 1, 1).reshape({n});
  part_args.col_offset = step.tensor_rank() * dims_.local_vocab();
  part_args.valid_cols = local_valid_cols(step);
  part_args.vocab_size = dims_.vocab;  // a target beyond the vocabulary is an error on every rank
  be.run(ops::cross_entropy_partial, part_args);
  step.sum_over_tensor_parallel(parts);
  ops::CrossEntropyFromPartsArgs loss_args;
  loss_args.row_max = row_max;
  loss_args.sum_exp = part_args.sum_exp;
  loss_args.target_logit = part_args.target_logit;
  loss_args.losses = losses;
  be.run(ops::cross_entropy_from_parts, loss_args);
  saved.put("row_max", row_max);
  saved.put("sum_exp", part_args.sum_exp);
}

Tensor LmHeadLayer::do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) {
  MTNLG_CHECK(step.targets != nullptr, "the LM head needs targets from the reader");
  Backend& be = step.backend;
  const Tensor x2 = x.reshape({-1, dims_.hidden});  // (N, C)
  const std::int64_t n = x2.dim(0);
  MTNLG_CHECK(step.targets->numel() == n && step.targets->dtype() == DType::i32,
              str("the LM head needs one i32 target per position (", n, "), got ", step.targets->describe()));
  Tensor logits = be.empty({n, dims_.local_vocab()}, x.dtype());  // (N, V/TP): this rank's columns
  be.run(ops::gemm, ops::GemmArgs{x2, step.params.value("word_embeddings"), logits, false, true});
  // 16-bit activations: the loss in fp32, as Megatron computes it (a bf16 loss has 8 significant bits), read
  // straight from the 16-bit logits — no f32 copy of the (N, V/TP) logits, the step's largest activation.
  const DType loss_dtype = ops::cross_entropy_stats_dtype(logits.dtype());
  Tensor losses = be.empty({n}, loss_dtype);
  loss_from_parts(step, logits, step.targets->reshape({n}), losses, saved);
  Tensor loss = be.empty({1}, loss_dtype);
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
  // d(mean loss)/d logits, written over the logits (no longer needed) in their dtype: (N, V/TP)
  ops::CrossEntropyPartialBackwardArgs args;
  args.logits = logits;
  args.targets = step.targets->reshape({n});
  args.row_max = saved.get("row_max");
  args.sum_exp = saved.get("sum_exp");
  args.dlogits = logits;
  args.col_offset = step.tensor_rank() * dims_.local_vocab();
  args.valid_cols = local_valid_cols(step);
  args.weight = step.loss_weight / static_cast<double>(n);
  args.vocab_size = dims_.vocab;
  be.run(ops::cross_entropy_partial_backward, args);
  const Tensor w = step.params.value("word_embeddings");
  const Tensor& dlogits = logits;  // (N, V/TP)
  be.run(ops::gemm, ops::GemmArgs{dlogits, x2, step.params.grad("word_embeddings"), true, false, 1.0, 1.0});
  Tensor dx = be.empty(x2.shape(), x2.dtype());
  be.run(ops::gemm, ops::GemmArgs{dlogits, w, dx});
  step.sum_over_tensor_parallel(dx);  // each rank's vocabulary columns contribute part of dx
  return dx.reshape({-1, step.targets->dim(-1), dims_.hidden});
}

}  // namespace mtnlg::gpt
