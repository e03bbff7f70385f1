#pragma once
// How the CPU backend's kernel files plug into its op table, and the dtype dispatch they share. Each op is
// registered with one kernel for all of its dtypes, which switches on the dtype itself.
#include <cstdint>
#include <string>

#include "mtnlg/backend.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::cpu {

void register_gemm_kernels(OpTable& table);         // gemm_kernels.cpp
void register_elementwise_kernels(OpTable& table);  // elementwise_kernels.cpp
void register_reduction_kernels(OpTable& table);    // reduction_kernels.cpp

// Elements per parallel_for chunk for streaming kernels: large enough that waking a thread pays off (~100 µs
// of work), small enough that 2-16 threads all get some.
inline constexpr std::int64_t kElementwiseGrain = std::int64_t{1} << 15;

// Calls f(T{}) with T the C++ type of a floating dtype.
template <class F>
void visit_floating(const char* op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32:
      f(float{});
      return;
    case DType::f64:
      f(double{});
      return;
    default:
      fail(str(op, ": the cpu backend has no ", dtype_name(dtype), " kernel"));
  }
}

// Calls f(T{}) with T the C++ type of a dtype the CPU backend stores (fill and copy).
template <class F>
void visit_stored(const char* op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32:
      f(float{});
      return;
    case DType::f64:
      f(double{});
      return;
    case DType::i32:
      f(std::int32_t{});
      return;
    case DType::i64:
      f(std::int64_t{});
      return;
    case DType::u16:
      f(std::uint16_t{});
      return;
    default:
      fail(str(op, ": the cpu backend has no ", dtype_name(dtype), " kernel"));
  }
}

}  // namespace mtnlg::cpu
