#pragma once
// What every kernel file shares: the element types behind the SDK's dtypes, their accumulation type (f32 for
// the 16-bit types and f32, f64 for f64), conversions with round-to-nearest-even, grid sizing, deterministic
// block reductions and the kernel error report.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "mtnlg/cuda/kernel_types.hpp"
#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::detail {

using bf16 = __nv_bfloat16;
using f16 = __half;

template <class T>
struct AccumOf {
  using type = float;
};
template <>
struct AccumOf<double> {
  using type = double;
};
// The type arithmetic on a T is done in.
template <class T>
using Accum = typename AccumOf<T>::type;

template <class T>
__device__ __forceinline__ Accum<T> to_accum(T x) {
  if constexpr (std::is_same_v<T, bf16>)
    return __bfloat162float(x);
  else if constexpr (std::is_same_v<T, f16>)
    return __half2float(x);
  else
    return x;
}

template <class T, class A>
__device__ __forceinline__ T from_accum(A x) {
  if constexpr (std::is_same_v<T, bf16>)
    return __float2bfloat16_rn(static_cast<float>(x));
  else if constexpr (std::is_same_v<T, f16>)
    return __float2half_rn(static_cast<float>(x));
  else
    return static_cast<T>(x);
}

// Calls f(T{}) with T the element type of a floating dtype: float, double, bf16 or f16.
template <class F>
void dispatch_floating(DType dtype, const char* op, F&& f) {
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
      throw std::invalid_argument(std::string(op) + ": no CUDA kernel for dtype " +
                                  std::string(dtype_name(dtype)));
  }
}

// Calls f(T{}, S{}) for the cross-entropy family: T the logits' element type, S the per-row statistics' —
// T itself or, for 16-bit logits, float (ops::cross_entropy_stats_dtype_ok, which Backend::run checks).
template <class F>
void dispatch_loss_types(DType logits, DType stats, const char* op, F&& f) {
  dispatch_floating(logits, op, [&](auto tag) {
    using T = decltype(tag);
    if (stats == logits) return f(tag, tag);
    if constexpr (sizeof(T) == 2) {
      if (stats == DType::f32) return f(tag, float{});
    }
    throw std::invalid_argument(std::string(op) + ": no CUDA kernel for " + std::string(dtype_name(logits)) +
                                " logits with " + std::string(dtype_name(stats)) + " statistics");
  });
}

inline constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items: enough to fill any current GPU, capped so that launch size
// never overflows and each thread does several items on big inputs.
inline unsigned grid_for(std::int64_t n, int threads = kThreads) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65536 ? 65536 : blocks));
}

// Blocks for a grid-stride loop over rows, one row per block at a time (the row kernels: softmax, layernorm,
// cross-entropy).
inline unsigned row_grid(std::int64_t rows) {
  return grid_for(rows, 1);
}

// Vocabulary rows are long (tens of thousands of columns): the cross-entropy kernels give a row more threads
// than kThreads.
inline constexpr int kVocabRowThreads = 512;

// 16 bytes of T (8 bf16/f16, 4 f32, 2 f64): streaming kernels move one pack per thread per load when every
// pointer is 16-byte aligned, the widest access a thread can make.
template <class T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / sizeof(T);
  T v[kSize];
};

inline bool aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

// Sum / max over a warp by a fixed butterfly: the same order every run, so results are bitwise reproducible.
template <class A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
template <class A>
__device__ __forceinline__ A warp_max(A v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result. `scratch`
// holds 32 values of A in shared memory. Fixed order for a fixed block size: deterministic.
template <class A>
__device__ A block_sum(A v, A* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : A(0);
  return warp_sum(v);
}
template <class A>
__device__ A block_max(A v, A* scratch, A lowest) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : lowest;
  return warp_max(v);
}

// Records a data-dependent error for the backend to raise at synchronize(); the first report wins.
__device__ __forceinline__ void report_error(KernelError* error, KernelErrorCode code, std::int64_t row,
                                             std::int64_t value, std::int64_t limit) {
  if (error == nullptr) return;
  if (atomicCAS(&error->code, 0, static_cast<std::int32_t>(code)) == 0) {
    error->row = row;
    error->value = value;
    error->limit = limit;
  }
}

}  // namespace mtnlg::cuda::detail
