// embedding and embedding_backward on CUDA (kernels: kernels/src/embedding.cu). The backward pass is
// deterministic: it sorts the token positions by table row and sums each row's gradients in position order
// (see embedding.cu). Its workspace comes from the backend's caching allocator and is released when the
// wrapper returns, after the kernels are queued: on the backend's one stream a freed block is only reused by
// work queued after them.
#include <cstdint>
#include <limits>

#include "mtnlg/cuda/embedding.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

// An optional operand (positions, dpositions): null when undefined.
void* data_or_null(const Tensor& t) {
  return t.defined() ? t.data() : nullptr;
}

void embedding_kernel(const ops::EmbeddingArgs& args, ExecContext& ctx) {
  kernels::launch_embedding(args.dtype(), args.tokens.data_as<std::int32_t>(), args.table.data(),
                            data_or_null(args.positions), args.out.data(), args.tokens.dim(0),
                            args.tokens.dim(1), args.table.dim(0), args.table.dim(1), args.row_offset,
                            args.valid_rows, backend_of(ctx).error_record(), stream_of(ctx));
}

void embedding_backward_kernel(const ops::EmbeddingBackwardArgs& args, ExecContext& ctx) {
  const std::int64_t tokens = args.tokens.numel(), rows = args.dtable.dim(0);
  if (tokens == 0) return;  // no gradient to add
  // The token sort indexes positions and rows in 32 bits.
  constexpr std::int64_t kSortLimit = std::numeric_limits<std::int32_t>::max();
  MTNLG_CHECK(
      tokens < kSortLimit && rows < kSortLimit,
      str("embedding_backward: tokens ", args.tokens.describe(), " and dtable ", args.dtable.describe(),
          " exceed the CUDA kernel's 2^31 tokens or table rows; split the batch"));
  // Token ids must lie in [0, rows) for a whole table and in [0, full_rows) for a slice of one.
  const std::int64_t token_limit = args.full_rows != 0 ? args.full_rows : rows;
  CudaBackend& backend = backend_of(ctx);
  const std::size_t workspace_bytes = kernels::embedding_backward_workspace_bytes(tokens, rows);
  // Raw bytes, as i32 elements; the allocator's blocks come from cudaMalloc, 256-byte aligned as the launcher
  // needs.
  const Tensor workspace = backend.empty({static_cast<std::int64_t>((workspace_bytes + 3) / 4)}, DType::i32);
  kernels::launch_embedding_backward(args.dtype(), args.tokens.data_as<std::int32_t>(), args.dout.data(),
                                     args.dtable.data(), data_or_null(args.dpositions), args.tokens.dim(0),
                                     args.tokens.dim(1), rows, args.dtable.dim(1), args.row_offset,
                                     token_limit, workspace.data(), workspace_bytes, backend.error_record(),
                                     stream_of(ctx));
}

}  // namespace

void register_embedding_ops(OpTable& table) {
  register_op<ops::embedding, &embedding_kernel>(table, {DType::f32, DType::f64, DType::bf16, DType::f16});
  register_op<ops::embedding_backward, &embedding_backward_kernel>(
      table, {DType::f32, DType::f64, DType::bf16, DType::f16});
}

}  // namespace mtnlg::cuda
