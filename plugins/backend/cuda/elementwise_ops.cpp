// Elementwise ops (fill, copy, cast, axpy, scale, add, mul, bias_add, gelu, gelu_backward): each wrapper
// hands the tensors' device pointers and sizes to a launcher of kernels/ on the backend's stream.
// op_checks.cpp has already checked shapes, dtypes and contiguity.
#include "mtnlg/cuda/axpy_scale.hpp"
#include "mtnlg/cuda/bias_add.hpp"
#include "mtnlg/cuda/binary.hpp"
#include "mtnlg/cuda/cast.hpp"
#include "mtnlg/cuda/copy.hpp"
#include "mtnlg/cuda/fill.hpp"
#include "mtnlg/cuda/gelu.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

void fill_kernel(const ops::FillArgs& args, ExecContext& ctx) {
  kernels::launch_fill(args.dtype(), args.out.data(), args.out.numel(), args.value, stream_of(ctx));
}

StridedLayout layout_of(const Tensor& t) {
  MTNLG_CHECK(t.ndim() <= kMaxDims,
              str("copy: ", t.describe(), " has ", t.ndim(), " dimensions; the CUDA backend copies at most ",
                  kMaxDims, " (reshape it first)"));
  StridedLayout layout;
  layout.ndim = t.ndim();
  for (int d = 0; d < t.ndim(); ++d) {
    layout.shape[d] = t.shape()[d];
    layout.strides[d] = t.strides()[d];
  }
  return layout;
}

void copy_kernel(const ops::CopyArgs& args, ExecContext& ctx) {
  kernels::launch_copy(args.dtype(), args.src.data(), layout_of(args.src), args.dst.data(),
                       layout_of(args.dst), stream_of(ctx));
}

void cast_kernel(const ops::CastArgs& args, ExecContext& ctx) {
  kernels::launch_cast(args.src.dtype(), args.src.data(), args.dst.dtype(), args.dst.data(), args.dst.numel(),
                       stream_of(ctx));
}

void axpy_kernel(const ops::AxpyArgs& args, ExecContext& ctx) {
  kernels::launch_axpy(args.dtype(), args.alpha, args.x.data(), args.y.data(), args.y.numel(),
                       stream_of(ctx));
}

void scale_kernel(const ops::ScaleArgs& args, ExecContext& ctx) {
  kernels::launch_scale(args.dtype(), args.alpha, args.x.data(), args.x.numel(), stream_of(ctx));
}

void add_kernel(const ops::BinaryArgs& args, ExecContext& ctx) {
  kernels::launch_add(args.dtype(), args.a.data(), args.b.data(), args.out.data(), args.out.numel(),
                      stream_of(ctx));
}

void mul_kernel(const ops::BinaryArgs& args, ExecContext& ctx) {
  kernels::launch_mul(args.dtype(), args.a.data(), args.b.data(), args.out.data(), args.out.numel(),
                      stream_of(ctx));
}

void bias_add_kernel(const ops::BiasAddArgs& args, ExecContext& ctx) {
  const std::int64_t cols = args.x.dim(-1);  // x, out: (rows, cols); bias: (cols)
  const std::int64_t rows = cols == 0 ? 0 : args.x.numel() / cols;
  kernels::launch_bias_add(args.dtype(), args.x.data(), args.bias.data(), args.out.data(), rows, cols,
                           stream_of(ctx));
}

void gelu_kernel(const ops::GeluArgs& args, ExecContext& ctx) {
  kernels::launch_gelu(args.dtype(), args.x.data(), args.out.data(), args.x.numel(), stream_of(ctx));
}

void gelu_backward_kernel(const ops::GeluBackwardArgs& args, ExecContext& ctx) {
  kernels::launch_gelu_backward(args.dtype(), args.x.data(), args.dy.data(), args.dx.data(), args.dx.numel(),
                                stream_of(ctx));
}

}  // namespace

void register_elementwise_ops(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  const auto stored = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u16};
  register_op<ops::fill, &fill_kernel>(table, stored);
  register_op<ops::copy, &copy_kernel>(table, stored);
  register_op<ops::cast, &cast_kernel>(table, floating);
  register_op<ops::axpy, &axpy_kernel>(table, floating);
  register_op<ops::scale, &scale_kernel>(table, floating);
  register_op<ops::add, &add_kernel>(table, floating);
  register_op<ops::mul, &mul_kernel>(table, floating);
  register_op<ops::bias_add, &bias_add_kernel>(table, floating);
  register_op<ops::gelu, &gelu_kernel>(table, floating);
  register_op<ops::gelu_backward, &gelu_backward_kernel>(table, floating);
}

}  // namespace mtnlg::cuda
