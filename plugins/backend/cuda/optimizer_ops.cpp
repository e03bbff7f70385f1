// adamw: one fused elementwise step over param, grad, m, v (kernels/src/adamw.cu).
#include "mtnlg/cuda/adamw.hpp"
#include "mtnlg/ops.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

void adamw_kernel(const ops::AdamWArgs& args, ExecContext& ctx) {
  kernels::AdamWHyperparams hyper;
  hyper.lr = args.lr;
  hyper.beta1 = args.beta1;
  hyper.beta2 = args.beta2;
  hyper.eps = args.eps;
  hyper.weight_decay = args.weight_decay;
  hyper.step = args.step;
  kernels::launch_adamw(args.dtype(), args.param.data(), args.grad.data(), args.m.data(), args.v.data(),
                        args.param.numel(), hyper, stream_of(ctx));
}

}  // namespace

void register_optimizer_ops(OpTable& table) {
  register_op<ops::adamw, &adamw_kernel>(table, {DType::f32, DType::f64, DType::bf16, DType::f16});
}

}  // namespace mtnlg::cuda
