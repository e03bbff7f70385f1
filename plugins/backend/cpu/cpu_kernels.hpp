#pragma once
// How the CPU backend's kernel files plug into its op table, and the dtype dispatch they share. Each op is
// registered with one kernel for all of its dtypes, which switches on the dtype itself.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "mtnlg/backend.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

#include "cpu_backend.hpp"
#include "mtnlg/half.hpp"

namespace mtnlg::cpu {

void register_gemm_kernels(OpTable& table);           // gemm_kernels.cpp
void register_elementwise_kernels(OpTable& table);    // elementwise_kernels.cpp
void register_reduction_kernels(OpTable& table);      // reduction_kernels.cpp
void register_embedding_kernels(OpTable& table);      // embedding_kernels.cpp
void register_normalization_kernels(OpTable& table);  // normalization_kernels.cpp
void register_attention_kernels(OpTable& table);      // attention_kernels.cpp
void register_loss_kernels(OpTable& table);           // loss_kernels.cpp
void register_dropout_kernels(OpTable& table);        // dropout_kernels.cpp
void register_optimizer_kernels(OpTable& table);      // optimizer_kernels.cpp

// flash_attention_kernels.cpp
void register_flash_attention_kernels(OpTable& table);

// Kernel for op Key, timed into the backend's profile when it has one (key `profile`). Kernels are plain
// function pointers in the op table, so the op's name can only reach the timing code through the template.
template <const auto& Key, void (*Kernel)(const OpArgs<Key>&, ExecContext&)>
void profiled_kernel(const OpArgs<Key>& args, ExecContext& ctx) {
  OpProfile* profile = static_cast<CpuBackend&>(ctx.backend).profile();
  if (profile == nullptr) {
    Kernel(args, ctx);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  Kernel(args, ctx);
  profile->add(Key.name, std::chrono::steady_clock::now() - start);
}

// How every kernel file registers its kernels: register_op<ops::gemm, &gemm_kernel>(table, {f32, f64}).
template <const auto& Key, void (*Kernel)(const OpArgs<Key>&, ExecContext&)>
void register_op(OpTable& table, std::initializer_list<DType> dtypes) {
  table.add(Key, dtypes, &profiled_kernel<Key, Kernel>);
}

// Elements per parallel_for chunk for streaming kernels: large enough that waking a thread pays off (~100 µs
// of work), small enough that 2-16 threads all get some.
inline constexpr std::int64_t kElementwiseGrain = std::int64_t{1} << 15;

// Rows per parallel_for chunk for a kernel that works row by row on rows of `row_length` elements: about
// kElementwiseGrain elements per chunk, at least one row.
inline std::int64_t row_grain(std::int64_t row_length) {
  return std::max<std::int64_t>(1, kElementwiseGrain / std::max<std::int64_t>(1, row_length));
}

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// The row blocks of a sum over rows (column_sum, layernorm's dgamma and dbeta): at most kMaxRowBlocks blocks
// of at least kMinBlockRows rows, so the per-block partial sums (blocks × columns doubles) stay small. Each
// block is summed sequentially and the block sums are combined in block order; the blocks depend only on the
// row count, so the result is the same for any thread count.
inline constexpr std::int64_t kMaxRowBlocks = 32;
inline constexpr std::int64_t kMinBlockRows = 64;

struct RowBlocks {
  std::int64_t rows_per_block, count;
  explicit RowBlocks(std::int64_t rows)
      : rows_per_block(std::max(kMinBlockRows, ceil_div(rows, kMaxRowBlocks))),
        count(std::max<std::int64_t>(1, ceil_div(rows, rows_per_block))) {}
};

// The type a kernel computes in for a stored floating type T: T itself for f32 and f64, float for bf16 and
// f16 (storage only; GPUs compute on them in f32 too). A kernel written once over T loads each element as its
// compute type, does exactly what the f32 kernel does (in double where that one accumulates in double), and
// stores each result rounded once, so a 16-bit kernel is the f32 kernel with 16-bit inputs and outputs.
template <class T>
struct ComputeType {
  using type = T;
};
template <>
struct ComputeType<bf16> {
  using type = float;
};
template <>
struct ComputeType<f16> {
  using type = float;
};
template <class T>
using compute_t = typename ComputeType<T>::type;

// A stored element as its compute type: exact.
inline float load(float v) {
  return v;
}
inline double load(double v) {
  return v;
}
inline float load(bf16 v) {
  return to_float(v);
}
inline float load(f16 v) {
  return to_float(v);
}

// A stored element as double, for the kernels that accumulate in double: exact.
template <class T>
double load_double(T v) {
  return static_cast<double>(load(v));
}

// A computed value (float or double) as a stored T, rounded once to nearest, ties to even. A double result is
// rounded to 16 bits directly, not through float (mtnlg/half.hpp says why).
template <class T, class V>
T store(V v) {
  static_assert(std::is_same_v<V, float> || std::is_same_v<V, double>);
  if constexpr (std::is_same_v<T, bf16>)
    return to_bf16(v);
  else if constexpr (std::is_same_v<T, f16>)
    return to_f16(v);
  else
    return static_cast<T>(v);
}

// Calls f(T{}) with T the C++ type of a floating dtype (f32, f64, bf16, f16).
template <class F>
void visit_floating(const char* op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32:
      f(float{});
      return;
    case DType::f64:
      f(double{});
      return;
    case DType::bf16:
      f(bf16{});
      return;
    case DType::f16:
      f(f16{});
      return;
    default:
      fail(str(op, ": the cpu backend has no ", dtype_name(dtype), " kernel"));
  }
}

// Calls f(T{}) with T float or double: the ops that keep f32 or wider (adamw: master weights are f32).
template <class F>
void visit_f32_f64(const char* op, DType dtype, F&& f) {
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
    case DType::f64:
    case DType::bf16:
    case DType::f16:
      visit_floating(op, dtype, f);
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
