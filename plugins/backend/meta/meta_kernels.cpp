// The meta backend's kernels: the op table says which ops and dtypes `mtnlg check` accepts; they compute
// nothing.
#include "mtnlg/ops.hpp"

#include "meta_backend.hpp"

namespace mtnlg::meta {
namespace {

// Backend::run has already checked the arguments against the op's contract (op_checks.hpp), exactly as for
// the CPU backend; there is nothing else to do without memory.
template <class Args>
void no_math(const Args&, ExecContext&) {}

}  // namespace

void register_meta_kernels(OpTable& table) {
  // The CPU backend's dtypes: what `mtnlg check` accepts must be what a CPU run accepts.
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  const auto stored = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u16};
  const auto f32_f64 = {DType::f32, DType::f64};
  table.add(ops::gemm, floating, &no_math<ops::GemmArgs>);
  table.add(ops::fill, stored, &no_math<ops::FillArgs>);
  table.add(ops::copy, stored, &no_math<ops::CopyArgs>);
  table.add(ops::cast, floating, &no_math<ops::CastArgs>);
  table.add(ops::axpy, floating, &no_math<ops::AxpyArgs>);
  table.add(ops::scale, floating, &no_math<ops::ScaleArgs>);
  table.add(ops::add, floating, &no_math<ops::BinaryArgs>);
  table.add(ops::mul, floating, &no_math<ops::BinaryArgs>);
  table.add(ops::bias_add, floating, &no_math<ops::BiasAddArgs>);
  table.add(ops::column_sum, floating, &no_math<ops::ColumnSumArgs>);
  table.add(ops::squared_norm, floating, &no_math<ops::SquaredNormArgs>);
  table.add(ops::gelu, floating, &no_math<ops::GeluArgs>);
  table.add(ops::gelu_backward, floating, &no_math<ops::GeluBackwardArgs>);
  table.add(ops::embedding, floating, &no_math<ops::EmbeddingArgs>);
  table.add(ops::embedding_backward, floating, &no_math<ops::EmbeddingBackwardArgs>);
  table.add(ops::layernorm, floating, &no_math<ops::LayerNormArgs>);
  table.add(ops::layernorm_backward, floating, &no_math<ops::LayerNormBackwardArgs>);
  table.add(ops::causal_softmax, floating, &no_math<ops::CausalSoftmaxArgs>);
  table.add(ops::causal_softmax_backward, floating, &no_math<ops::CausalSoftmaxBackwardArgs>);
  table.add(ops::flash_attention, floating, &no_math<ops::FlashAttentionArgs>);
  table.add(ops::flash_attention_backward, floating, &no_math<ops::FlashAttentionBackwardArgs>);
  table.add(ops::cross_entropy, floating, &no_math<ops::CrossEntropyArgs>);
  table.add(ops::cross_entropy_backward, floating, &no_math<ops::CrossEntropyBackwardArgs>);
  table.add(ops::row_max, floating, &no_math<ops::RowMaxArgs>);
  table.add(ops::cross_entropy_partial, floating, &no_math<ops::CrossEntropyPartialArgs>);
  table.add(ops::cross_entropy_from_parts, floating, &no_math<ops::CrossEntropyFromPartsArgs>);
  table.add(ops::cross_entropy_partial_backward, floating, &no_math<ops::CrossEntropyPartialBackwardArgs>);
  table.add(ops::dropout, floating, &no_math<ops::DropoutArgs>);
  table.add(ops::dropout_backward, floating, &no_math<ops::DropoutArgs>);
  table.add(ops::adamw, f32_f64, &no_math<ops::AdamWArgs>);
}

}  // namespace mtnlg::meta
