// flash_attention and flash_attention_backward: the SDK's Args unpacked into the launchers of
// kernels/src/flash_attention_{forward,backward}.cu on the backend's stream. check_args has already checked
// shapes, dtypes (lse in the accumulation type), layouts and the head size.
#include "mtnlg/cuda/flash_attention.hpp"

#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

// check_args holds every backend to the SDK's head-size limit, which must be the kernels' own.
static_assert(kFlashAttentionMaxHeadDim == ops::kFlashAttentionMaxHeadDim);

void flash_attention_kernel(const ops::FlashAttentionArgs& args, ExecContext& ctx) {
  flash_attention_forward(args.dtype(), args.q.data(), args.k.data(), args.v.data(), args.out.data(),
                          args.lse.data(), args.q.dim(0), args.q.dim(1), args.q.dim(2), args.scale,
                          backend_of(ctx).attention_kernels(), stream_of(ctx));
}

void flash_attention_backward_kernel(const ops::FlashAttentionBackwardArgs& args, ExecContext& ctx) {
  flash_attention_backward(args.dtype(), args.q.data(), args.k.data(), args.v.data(), args.out.data(),
                           args.lse.data(), args.dout.data(), args.dq.data(), args.dk.data(), args.dv.data(),
                           args.q.dim(0), args.q.dim(1), args.q.dim(2), args.scale,
                           backend_of(ctx).attention_kernels(), stream_of(ctx));
}

}  // namespace

void register_flash_attention_ops(OpTable& table) {
  register_op<ops::flash_attention, &flash_attention_kernel>(
      table, {DType::f32, DType::f64, DType::bf16, DType::f16});
  register_op<ops::flash_attention_backward, &flash_attention_backward_kernel>(
      table, {DType::f32, DType::f64, DType::bf16, DType::f16});
}

}  // namespace mtnlg::cuda
