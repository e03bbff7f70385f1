// The meta backend's kernels: each checks its arguments exactly as the CPU kernel does and computes nothing.
#include "mtnlg/ops.hpp"

#include "meta_backend.hpp"
#include "op_checks.hpp"

namespace mtnlg::meta {
namespace {

void gemm_kernel(const ops::GemmArgs& args, ExecContext&) {
  check_gemm(args);
}
void fill_kernel(const ops::FillArgs& args, ExecContext&) {
  check_fill(args);
}
void copy_kernel(const ops::CopyArgs& args, ExecContext&) {
  check_copy(args);
}
void axpy_kernel(const ops::AxpyArgs& args, ExecContext&) {
  check_axpy(args);
}
void scale_kernel(const ops::ScaleArgs& args, ExecContext&) {
  check_scale(args);
}
void add_kernel(const ops::BinaryArgs& args, ExecContext&) {
  check_binary("add", args);
}
void mul_kernel(const ops::BinaryArgs& args, ExecContext&) {
  check_binary("mul", args);
}
void bias_add_kernel(const ops::BiasAddArgs& args, ExecContext&) {
  check_bias_add(args);
}
void column_sum_kernel(const ops::ColumnSumArgs& args, ExecContext&) {
  check_column_sum(args);
}
void squared_norm_kernel(const ops::SquaredNormArgs& args, ExecContext&) {
  check_squared_norm(args);
}
void gelu_kernel(const ops::GeluArgs& args, ExecContext&) {
  check_gelu(args);
}
void gelu_backward_kernel(const ops::GeluBackwardArgs& args, ExecContext&) {
  check_gelu_backward(args);
}

}  // namespace

void register_meta_kernels(OpTable& table) {
  // The CPU backend's dtypes: what `mtnlg check` accepts must be what a CPU run accepts.
  const auto floating = {DType::f32, DType::f64};
  const auto stored = {DType::f32, DType::f64, DType::i32, DType::i64, DType::u16};
  table.add(ops::gemm, floating, &gemm_kernel);
  table.add(ops::fill, stored, &fill_kernel);
  table.add(ops::copy, stored, &copy_kernel);
  table.add(ops::axpy, floating, &axpy_kernel);
  table.add(ops::scale, floating, &scale_kernel);
  table.add(ops::add, floating, &add_kernel);
  table.add(ops::mul, floating, &mul_kernel);
  table.add(ops::bias_add, floating, &bias_add_kernel);
  table.add(ops::column_sum, floating, &column_sum_kernel);
  table.add(ops::squared_norm, floating, &squared_norm_kernel);
  table.add(ops::gelu, floating, &gelu_kernel);
  table.add(ops::gelu_backward, floating, &gelu_backward_kernel);
}

}  // namespace mtnlg::meta
