#pragma once
// What the fused attention kernels share (flash_attention_forward.cu, flash_attention_backward.cu): the
// thread layout, tile staging, the per-row reductions and the launch plan.
//
// Layout. A block owns kRows rows of one head's (T, d) matrices (queries, or keys for dk/dv), kGroup threads
// per row: thread g of a row holds features g, g + kGroup, g + 2·kGroup, ... (DMAX / kGroup of them, in
// registers), so a dot product is a per-thread partial sum then a butterfly over the 8 lanes of the group.
// The other operand streams through shared memory kTileRows rows at a time, converted to the accumulation
// type A; lanes of a group read consecutive addresses and the 4 groups of a warp read the same row
// (broadcast), so there are no bank conflicts. DMAX (32, 64 or 128) is the smallest that holds d; features
// d..DMAX are zero in the tiles and skipped when storing.
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "common.cuh"
#include "mtnlg/cuda/flash_attention.hpp"

namespace mtnlg::cuda::detail::flash {

inline constexpr int kRows = 32;
inline constexpr int kGroup = 8;
inline constexpr int kBlockThreads = kRows * kGroup;
inline constexpr int kMaxHeadDim = static_cast<int>(kFlashAttentionMaxHeadDim);

// Rows per shared-memory tile: two (rows, DMAX) tiles of A fit in 32 KiB of static shared memory (16 rows
// for f64 at DMAX = 128, else 32). A power of two dividing kRows, so key and query tiles stay aligned.
template <class A, int DMAX>
inline constexpr int kTileRows = 32768 / (2 * DMAX * static_cast<int>(sizeof(A))) < kRows
                                     ? 32768 / (2 * DMAX * static_cast<int>(sizeof(A)))
                                     : kRows;

template <class A>
__device__ __forceinline__ A minus_infinity() {
  return -std::numeric_limits<A>::infinity();
}
__device__ __forceinline__ float exp_of(float x) {
  return expf(x);
}
__device__ __forceinline__ double exp_of(double x) {
  return exp(x);
}
__device__ __forceinline__ float log_of(float x) {
  return logf(x);
}
__device__ __forceinline__ double log_of(double x) {
  return log(x);
}
template <class A>
__device__ __forceinline__ A larger(A a, A b) {
  return a > b ? a : b;
}

// Sum over the kGroup lanes of a row's group (aligned groups of a warp), by a fixed butterfly. Every lane
// gets the same bits: each level adds the same two partial sums, only in swapped order.
template <class A>
__device__ __forceinline__ A group_sum(A v) {
  for (int offset = kGroup / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Rows [row0, row0 + ROWS) of a (t_len, d) matrix into tile (ROWS, DMAX), zero past t_len and d. Called by
// the whole block.
template <int ROWS, int DMAX, class T, class A>
__device__ __forceinline__ void load_tile(A (*tile)[DMAX], const T* src, int row0, int t_len, int d) {
  for (int e = threadIdx.x; e < ROWS * DMAX; e += kBlockThreads) {
    const int r = e / DMAX, c = e % DMAX, row = row0 + r;
    tile[r][c] = row < t_len && c < d ? to_accum(src[static_cast<std::int64_t>(row) * d + c]) : A(0);
  }
}

// Thread g's features of row `row` of a (t_len, d) matrix; zeros for a row past the end (active false).
template <int DMAX, class T, class A>
__device__ __forceinline__ void load_row(A (&dst)[DMAX / kGroup], const T* src, int row, bool active, int d,
                                         int g) {
#pragma unroll
  for (int m = 0; m < DMAX / kGroup; ++m) {
    const int c = g + kGroup * m;
    dst[m] = active && c < d ? to_accum(src[static_cast<std::int64_t>(row) * d + c]) : A(0);
  }
}

// dst[row, features of g] = factor · src.
template <int DMAX, class T, class A>
__device__ __forceinline__ void store_row(T* dst, const A (&src)[DMAX / kGroup], A factor, int row, int d,
                                          int g) {
#pragma unroll
  for (int m = 0; m < DMAX / kGroup; ++m) {
    const int c = g + kGroup * m;
    if (c < d) dst[static_cast<std::int64_t>(row) * d + c] = from_accum<T>(src[m] * factor);
  }
}

// The grid: one block per (row tile, head), flattened into x (gridDim.y would cap BH at 65535). Throws
// std::invalid_argument for sizes the kernels cannot take; blocks = 0 means there is nothing to do.
struct Plan {
  unsigned blocks = 0;
  int tiles = 0;
};
inline Plan plan(const char* op, std::int64_t bh, std::int64_t t, std::int64_t d) {
  if (d < 1 || d > kMaxHeadDim)
    throw std::invalid_argument(std::string(op) + ": head size d = " + std::to_string(d) +
                                " is outside the CUDA kernels' range [1, " + std::to_string(kMaxHeadDim) +
                                "]");
  if (bh < 0 || t < 0 || t > std::numeric_limits<int>::max() - kRows)
    throw std::invalid_argument(std::string(op) + ": BH = " + std::to_string(bh) + " or T = " +
                                std::to_string(t) + " is negative or T exceeds the kernels' 32-bit rows");
  const std::int64_t tiles = (t + kRows - 1) / kRows;
  if (tiles * bh > std::numeric_limits<int>::max())
    throw std::invalid_argument(std::string(op) + ": BH·⌈T/32⌉ = " + std::to_string(tiles * bh) +
                                " blocks exceed the grid's limit; split the batch");
  return {static_cast<unsigned>(tiles * bh), static_cast<int>(tiles)};
}

// bf16 and f16 take the tensor-core kernels (flash_attention_tc_*.cu) unless the backend asks for SIMT.
inline bool takes_tensor_cores(DType dtype, FlashAttentionKernels kernels) {
  return kernels == FlashAttentionKernels::tensor_cores && (dtype == DType::bf16 || dtype == DType::f16);
}

// Calls f(std::integral_constant<int, DMAX>{}) for the smallest DMAX in {32, 64, 128} that holds d (checked
// by plan()).
template <class F>
void dispatch_head_dim(std::int64_t d, F&& f) {
  if (d <= 32)
    f(std::integral_constant<int, 32>{});
  else if (d <= 64)
    f(std::integral_constant<int, 64>{});
  else
    f(std::integral_constant<int, 128>{});
}

}  // namespace mtnlg::cuda::detail::flash
