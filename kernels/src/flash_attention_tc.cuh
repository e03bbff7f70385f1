#pragma once
// What the tensor-core attention kernels share (flash_attention_tc_forward.cu,
// flash_attention_tc_backward.cu): bf16/f16 products on tensor cores through WMMA (16×16×16 fragments, f32
// accumulation), with the softmax and the other element-wise steps done in f32 by plain threads on a warp's
// scratch in shared memory (WMMA's fragment layout is opaque, so scores go through shared memory rather than
// being read in registers).
//
// Layout. A block of kWarps warps owns kBlockRows = 64 rows of one head's (T, d) matrices (queries for the
// forward and dq, keys for dk/dv); warp w owns rows 16w .. 16w + 15 of them. The other operand streams
// through shared memory kTile = 64 rows at a time. d is padded with zeros to D ∈ {32, 64, 128} in the tiles,
// and rows past T are zero, so padding adds nothing to any product; only real rows and features are stored.
#include <mma.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "flash_attention_common.cuh"

namespace mtnlg::cuda::detail::flash::tc {

namespace wmma = nvcuda::wmma;

inline constexpr int kWarps = 4;
inline constexpr int kThreads = kWarps * 32;
inline constexpr int kWarpRows = 16;
inline constexpr int kBlockRows = kWarps * kWarpRows;  // 64
inline constexpr int kTile = 64;
// Row strides in elements. 16-bit (rows, D) tiles get 8 extra elements (16 bytes) per row, so the 8 rows a
// fragment load reads at once start in different banks; f32 scratch rows get 4. WMMA needs strides that are
// multiples of 16 bytes and fragment pointers aligned to 32 bytes, which these keep.
template <int D>
inline constexpr int kTileLd = D + 8;
inline constexpr int kScoreLd = kTile + 4;  // f32 (16, kTile) scores
inline constexpr int kProbLd = kTile + 8;   // 16-bit (16, kTile) probabilities or dS

inline constexpr double kLog2eDouble = 1.4426950408889634;
inline constexpr float kLog2e = static_cast<float>(kLog2eDouble);
inline constexpr float kLn2 = 0.6931471805599453f;

template <class T>
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major>;
template <class T>
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major>;
// B read from a row-major (n, k) tile: the transpose of that tile as the (k, n) operand.
template <class T>
using FragBTransposed = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// dst (16, 16·N) f32 with stride ldd = a (16, 16·K) · bᵀ, where b is a row-major (16·N, 16·K) tile: S = Q·Kᵀ.
// a and b are 16-bit tiles in shared memory with strides lda, ldb. Called by one whole warp.
// a's K fragments are loaded once and used for all N column blocks.
template <class T, int N, int K>
__device__ __forceinline__ void product_with_transpose(float* dst, int ldd, const T* a, int lda, const T* b,
                                                       int ldb) {
  FragA<T> fa[K];
#pragma unroll
  for (int k = 0; k < K; ++k) wmma::load_matrix_sync(fa[k], a + k * 16, lda);
#pragma unroll
  for (int n = 0; n < N; ++n) {
    FragC acc;
    wmma::fill_fragment(acc, 0.0f);
#pragma unroll
    for (int k = 0; k < K; ++k) {
      FragBTransposed<T> fb;
      wmma::load_matrix_sync(fb, b + n * 16 * ldb + k * 16, ldb);
      wmma::mma_sync(acc, fa[k], fb, acc);
    }
    wmma::store_matrix_sync(dst + n * 16, acc, ldd, wmma::mem_row_major);
  }
}

// acc[n] += a (16, 16·K) · b (16·K, 16·N): a and b row-major 16-bit tiles in shared memory. One whole warp.
template <class T, int N, int K>
__device__ __forceinline__ void accumulate_product(FragC (&acc)[N], const T* a, int lda, const T* b,
                                                   int ldb) {
#pragma unroll
  for (int k = 0; k < K; ++k) {
    FragA<T> fa;
    wmma::load_matrix_sync(fa, a + k * 16, lda);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      FragB<T> fb;
      wmma::load_matrix_sync(fb, b + k * 16 * ldb + n * 16, ldb);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
}

// Rows [row0, row0 + ROWS) of a (t_len, d) matrix into a (ROWS, D) tile of stride kTileLd<D>, zero past
// t_len and d. `wide`: d is a multiple of 8 and src 16-byte aligned, so rows move in 16-byte packs. Called by
// the whole block.
template <int ROWS, int D, class T>
__device__ __forceinline__ void stage_tile(T* tile, const T* src, int row0, int t_len, int d, bool wide) {
  constexpr int kLd = kTileLd<D>;
  if (wide) {
    constexpr int kPacks = D / 8;
    for (int e = threadIdx.x; e < ROWS * kPacks; e += kThreads) {
      const int r = e / kPacks, c = (e % kPacks) * 8, row = row0 + r;
      uint4 pack = make_uint4(0u, 0u, 0u, 0u);
      if (row < t_len && c < d)
        pack = *reinterpret_cast<const uint4*>(src + static_cast<std::int64_t>(row) * d + c);
      *reinterpret_cast<uint4*>(tile + r * kLd + c) = pack;
    }
  } else {
    const T zero = from_accum<T>(0.0f);
    for (int e = threadIdx.x; e < ROWS * D; e += kThreads) {
      const int r = e / D, c = e % D, row = row0 + r;
      tile[r * kLd + c] = row < t_len && c < d ? src[static_cast<std::int64_t>(row) * d + c] : zero;
    }
  }
}

// A warp's 16 rows of f32 accumulators, staged through `scratch` (16, D + 4), scaled by factor(row) and
// stored as rows row0 .. row0 + 15 of the (t_len, d) matrix dst: rows past t_len and features past d are
// dropped.
template <int D, class T, class Factor>
__device__ __forceinline__ void store_rows(T* dst, float* scratch, const FragC (&acc)[D / 16], int row0,
                                           int t_len, int d, Factor factor) {
  constexpr int kLd = D + 4;
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < D / 16; ++n)
    wmma::store_matrix_sync(scratch + n * 16, acc[n], kLd, wmma::mem_row_major);
  __syncwarp();
  for (int r = 0; r < kWarpRows; ++r) {
    const int row = row0 + r;
    if (row >= t_len) break;
    const float f = factor(r);
    for (int c = lane; c < d; c += 32)
      dst[static_cast<std::int64_t>(row) * d + c] = from_accum<T>(scratch[r * kLd + c] * f);
  }
  __syncwarp();
}

// The grid: one block per (tile of 64 rows, head), flattened into x. Throws std::invalid_argument for sizes
// the kernels cannot take (the callers have checked d with plan()).
inline Plan plan_blocks(const char* op, std::int64_t bh, std::int64_t t) {
  if (t > std::numeric_limits<int>::max() - kBlockRows)
    throw std::invalid_argument(std::string(op) + ": T = " + std::to_string(t) +
                                " exceeds the tensor-core kernels' 32-bit rows");
  const std::int64_t tiles = (t + kBlockRows - 1) / kBlockRows;
  if (tiles * bh > std::numeric_limits<int>::max())
    throw std::invalid_argument(std::string(op) + ": BH·⌈T/64⌉ = " + std::to_string(tiles * bh) +
                                " blocks exceed the grid's limit; split the batch");
  return {static_cast<unsigned>(tiles * bh), static_cast<int>(tiles)};
}

// Kernels here use more than the 48 KiB of shared memory a launch gets by default; Hopper and Ampere allow
// up to 227 / 163 KiB once asked.
template <class Kernel>
void allow_shared_memory(Kernel kernel, std::size_t bytes, const char* op) {
  const cudaError_t status =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(op) + ": cannot give the tensor-core kernel " +
                             std::to_string(bytes) +
                             " bytes of shared memory: " + cudaGetErrorString(status) +
                             " (set backend.attention = \"simt\" to use the SIMT kernels)");
}

// Whether this device lets one block have `bytes` of shared memory: A100 and H100 allow 163 and 227 KiB,
// sm_86/sm_89 cards (RTX 30/40, A10, L4, L40) only 99 KiB, too little for the D = 128 backward.
inline bool shared_memory_fits(std::size_t bytes) {
  int device = 0, limit = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
    cudaGetLastError();  // not this op's failure to report; the SIMT kernels run instead
    return false;
  }
  return bytes <= static_cast<std::size_t>(limit);
}

// The launchers behind flash_attention_forward / flash_attention_backward for bf16 and f16. They return
// false, having queued nothing, where the device has too little shared memory per block: the caller then runs
// the SIMT kernels.
bool tensor_core_forward(DType dtype, const void* q, const void* k, const void* v, void* out, void* lse,
                         std::int64_t bh, std::int64_t t, std::int64_t d, double scale, cudaStream_t stream);
bool tensor_core_backward(DType dtype, const void* q, const void* k, const void* v, const void* out,
                          const void* lse, const void* dout, void* dq, void* dk, void* dv, std::int64_t bh,
                          std::int64_t t, std::int64_t d, double scale, cudaStream_t stream);

// Calls f(T{}) for bf16 and f16 (the only dtypes with tensor-core kernels here).
template <class F>
void dispatch_16bit(DType dtype, const char* op, F&& f) {
  if (dtype == DType::bf16)
    f(bf16{});
  else if (dtype == DType::f16)
    f(f16{});
  else
    throw std::invalid_argument(std::string(op) + ": the tensor-core kernels take bf16 or f16, not " +
                                std::string(dtype_name(dtype)));
}

}  // namespace mtnlg::cuda::detail::flash::tc
