// dropout and dropout_backward: the same kernel (kernels/src/dropout.cu) on x or dy, whose Philox mask equals
// the CPU backend's bit for bit.
#include "mtnlg/cuda/dropout.hpp"
#include "mtnlg/ops.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

void run_dropout(const ops::DropoutArgs& args, ExecContext& ctx) {
  kernels::DropoutMask mask;
  mask.p = args.p;
  mask.key[0] = args.key[0];
  mask.key[1] = args.key[1];
  mask.first_sample = args.first_sample;
  mask.element_offset = args.element_offset;
  // x, out: (B, ...), viewed as (B, M).
  kernels::launch_dropout(args.dtype(), args.x.data(), args.out.data(), args.x.dim(0), args.x.numel(), mask,
                          stream_of(ctx));
}

}  // namespace

void register_dropout_ops(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::dropout, &run_dropout>(table, floating);
  register_op<ops::dropout_backward, &run_dropout>(table, floating);
}

}  // namespace mtnlg::cuda
