#pragma once
// Argument checks for the standard ops (ops.hpp): every kernel calls its check before touching memory, so a
// bad call fails with a message naming the op, the operands' shapes and what to do, never with a crash. The
// meta backend repeats these rules in its own op_checks.cpp (a plugin may share only the SDK); keep the two
// in step.
#include <cstdint>

#include "mtnlg/ops.hpp"

namespace mtnlg::cpu {

// gemm's problem size: `batch` products of (m, k) · (k, n); batch is 1 for 2-D operands.
struct GemmDims {
  std::int64_t batch = 1, m = 0, n = 0, k = 0;
};

GemmDims check_gemm(const ops::GemmArgs& args);
void check_fill(const ops::FillArgs& args);
void check_copy(const ops::CopyArgs& args);
void check_axpy(const ops::AxpyArgs& args);
void check_scale(const ops::ScaleArgs& args);
void check_binary(const char* op, const ops::BinaryArgs& args);  // add, mul
std::int64_t check_bias_add(const ops::BiasAddArgs& args);       // returns N
std::int64_t check_column_sum(const ops::ColumnSumArgs& args);   // returns N
void check_squared_norm(const ops::SquaredNormArgs& args);
void check_gelu(const ops::GeluArgs& args);
void check_gelu_backward(const ops::GeluBackwardArgs& args);

}  // namespace mtnlg::cpu
