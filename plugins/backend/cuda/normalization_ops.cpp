// layernorm and layernorm_backward on CUDA (kernels: kernels/src/layernorm.cu). The backward pass adds dgamma
// and dbeta deterministically through per-row-block partial sums; their scratch comes from the backend's
// caching allocator and is released when the wrapper returns, after the kernels are queued: on the backend's
// one stream a freed block is only reused by work queued after them.
#include "mtnlg/cuda/layernorm.hpp"
#include "mtnlg/ops.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

void layernorm_kernel(const ops::LayerNormArgs& args, ExecContext& ctx) {
  kernels::launch_layernorm(args.dtype(), args.x.data(), args.gamma.data(), args.beta.data(), args.out.data(),
                            args.mean.data(), args.rstd.data(), args.x.dim(0), args.x.dim(1), args.eps,
                            stream_of(ctx));
}

void layernorm_backward_kernel(const ops::LayerNormBackwardArgs& args, ExecContext& ctx) {
  const std::int64_t rows = args.x.dim(0), cols = args.x.dim(1);
  const std::int64_t scratch_elements = kernels::layernorm_backward_scratch_elements(rows, cols);
  if (scratch_elements == 0) return;  // no rows or no columns: nothing to compute or add
  const Tensor scratch =
      backend_of(ctx).empty({scratch_elements}, kernels::layernorm_backward_scratch_dtype(args.dtype()));
  kernels::launch_layernorm_backward(args.dtype(), args.dy.data(), args.x.data(), args.gamma.data(),
                                     args.mean.data(), args.rstd.data(), args.dx.data(), args.dgamma.data(),
                                     args.dbeta.data(), scratch.data(), rows, cols, stream_of(ctx));
}

}  // namespace

void register_normalization_ops(OpTable& table) {
  register_op<ops::layernorm, &layernorm_kernel>(table, {DType::f32, DType::f64, DType::bf16, DType::f16});
  register_op<ops::layernorm_backward, &layernorm_backward_kernel>(
      table, {DType::f32, DType::f64, DType::bf16, DType::f16});
}

}  // namespace mtnlg::cuda
