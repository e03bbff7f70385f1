// causal_softmax and causal_softmax_backward on CUDA (kernels: kernels/src/causal_softmax.cu), in place or
// not.
#include "mtnlg/cuda/causal_softmax.hpp"
#include "mtnlg/ops.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

void causal_softmax_kernel(const ops::CausalSoftmaxArgs& args, ExecContext& ctx) {
  kernels::launch_causal_softmax(args.dtype(), args.scores.data(), args.probs.data(), args.scores.dim(0),
                                 args.scores.dim(1), args.scale, stream_of(ctx));
}

void causal_softmax_backward_kernel(const ops::CausalSoftmaxBackwardArgs& args, ExecContext& ctx) {
  kernels::launch_causal_softmax_backward(args.dtype(), args.probs.data(), args.dprobs.data(),
                                          args.dscores.data(), args.probs.dim(0), args.probs.dim(1),
                                          args.scale, stream_of(ctx));
}

}  // namespace

void register_attention_ops(OpTable& table) {
  register_op<ops::causal_softmax, &causal_softmax_kernel>(table,
                                                           {DType::f32, DType::f64, DType::bf16, DType::f16});
  register_op<ops::causal_softmax_backward, &causal_softmax_backward_kernel>(
      table, {DType::f32, DType::f64, DType::bf16, DType::f16});
}

}  // namespace mtnlg::cuda
