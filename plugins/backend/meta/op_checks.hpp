#pragma once
// Argument checks for the standard ops (ops.hpp), the meta backend's only "math": `mtnlg check` must reject
// exactly the calls the CPU backend would reject, with the same messages. These rules are a copy of
// plugins/backend/cpu/op_checks.cpp (a plugin may share only the SDK); keep the two in step — the meta tests
// compare their messages.
#include <cstdint>

#include "mtnlg/ops.hpp"

namespace mtnlg::meta {

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

}  // namespace mtnlg::meta
