// Deterministic reductions (column_sum, squared_norm): fixed partitions, fixed-order combination, no float
// atomics, so results are bitwise reproducible run to run (kernels/src/column_sum.cu, squared_norm.cu).
#include "mtnlg/cuda/column_sum.hpp"
#include "mtnlg/cuda/squared_norm.hpp"
#include "mtnlg/ops.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

void column_sum_kernel(const ops::ColumnSumArgs& args, ExecContext& ctx) {
  const std::int64_t cols = args.x.dim(-1);  // x: (rows, cols); out: (cols)
  const std::int64_t rows = cols == 0 ? 0 : args.x.numel() / cols;
  kernels::launch_column_sum(args.dtype(), args.x.data(), args.out.data(), rows, cols, args.beta,
                             stream_of(ctx));
}

void squared_norm_kernel(const ops::SquaredNormArgs& args, ExecContext& ctx) {
  kernels::launch_squared_norm(args.dtype(), args.x.data(), args.out.data(), args.x.numel(), stream_of(ctx));
}

}  // namespace

void register_reduction_ops(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::column_sum, &column_sum_kernel>(table, floating);
  register_op<ops::squared_norm, &squared_norm_kernel>(table, floating);
}

}  // namespace mtnlg::cuda
