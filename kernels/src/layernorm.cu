// LayerNorm over the last dimension (launchers: mtnlg/cuda/layernorm.hpp). Shapes: x, dy, out, dx (N, C);
// gamma, beta, dgamma, dbeta (C); mean, rstd (N). Arithmetic in A = f32 (f64 for f64).
//
// The forward pass and dx are row-local: one block per row, with the block reductions of common.cuh (a fixed
// order for a fixed block size). The statistics take two passes over the row (the mean, then the mean squared
// deviation), which does not cancel like E[x²] − E[x]².
//
// dgamma and dbeta are sums over rows, made deterministic without atomics: the rows are split into fixed
// blocks (RowBlocks, which depends on N only), one thread per (column, row block) sums its rows in order into
// a scratch buffer (blocks, 2, C), and a second kernel adds each column's partial sums in block order to
// dgamma and dbeta.
#include <algorithm>
#include <cstdint>

#include "common.cuh"
#include "mtnlg/cuda/layernorm.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using detail::Accum;
using detail::block_sum;
using detail::from_accum;
using detail::kThreads;
using detail::to_accum;

using detail::row_grid;

template <class T>
__global__ void layernorm_kernel(const T* x, const T* gamma, const T* beta, T* out, T* mean_out, T* rstd_out,
                                 std::int64_t rows, std::int64_t cols, Accum<T> eps) {
  using A = Accum<T>;
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    A sum = 0;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += to_accum(xr[j]);
    const A mean = block_sum(sum, scratch) / static_cast<A>(cols);
    A squares = 0;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A d = to_accum(xr[j]) - mean;
      squares += d * d;
    }
    const A rstd = A(1) / sqrt(block_sum(squares, scratch) / static_cast<A>(cols) + eps);
    T* outr = out + r * cols;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      outr[j] = from_accum<T>((to_accum(xr[j]) - mean) * rstd * to_accum(gamma[j]) + to_accum(beta[j]));
    if (threadIdx.x == 0) {
      mean_out[r] = from_accum<T>(mean);
      rstd_out[r] = from_accum<T>(rstd);
    }
  }
}

// With x̂ = (x − mean)·rstd and g = dy·gamma, per row: dx = rstd · (g − mean_j(g) − x̂ · mean_j(g·x̂)).
template <class T>
__global__ void layernorm_dx_kernel(const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd,
                                    T* dx, std::int64_t rows, std::int64_t cols) {
  using A = Accum<T>;
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    const T* dyr = dy + r * cols;
    const A m = to_accum(mean[r]), s = to_accum(rstd[r]);
    A g_sum = 0, gx_sum = 0;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A xhat = (to_accum(xr[j]) - m) * s;
      const A g = to_accum(dyr[j]) * to_accum(gamma[j]);
      g_sum += g;
      gx_sum += g * xhat;
    }
    const A g_mean = block_sum(g_sum, scratch) / static_cast<A>(cols);
    const A gx_mean = block_sum(gx_sum, scratch) / static_cast<A>(cols);
    T* dxr = dx + r * cols;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const A xhat = (to_accum(xr[j]) - m) * s;
      const A g = to_accum(dyr[j]) * to_accum(gamma[j]);
      dxr[j] = from_accum<T>(s * (g - g_mean - xhat * gx_mean));
    }
  }
}

// The fixed split of the rows for dgamma and dbeta: blocks of rows_per_block rows (the last may be short), at
// most 256 of them and at least 32 rows each, so the scratch stays small and each thread has a useful run of
// rows. Depends on the row count only: the same partition, hence the same bits, every run.
struct RowBlocks {
  std::int64_t rows_per_block, count;
};

RowBlocks row_blocks(std::int64_t rows) {
  constexpr std::int64_t kMinRows = 32, kMaxBlocks = 256;
  const std::int64_t rows_per_block = std::max(kMinRows, (rows + kMaxBlocks - 1) / kMaxBlocks);
  return {rows_per_block, (rows + rows_per_block - 1) / rows_per_block};
}

// partial[block, 0, c] = Σ dy·x̂ and partial[block, 1, c] = Σ dy over the block's rows, in row order. Grid: x
// over column chunks, y over row blocks.
template <class T>
__global__ void layernorm_param_partials_kernel(const T* dy, const T* x, const T* mean, const T* rstd,
                                                Accum<T>* partial, std::int64_t rows, std::int64_t cols,
                                                std::int64_t rows_per_block) {
  using A = Accum<T>;
  const std::int64_t block = blockIdx.y;
  const std::int64_t first = block * rows_per_block;
  const std::int64_t end = first + rows_per_block < rows ? first + rows_per_block : rows;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < cols;
       j += stride) {
    A dgamma = 0, dbeta = 0;
    for (std::int64_t r = first; r < end; ++r) {
      const A d = to_accum(dy[r * cols + j]);
      const A xhat = (to_accum(x[r * cols + j]) - to_accum(mean[r])) * to_accum(rstd[r]);
      dgamma += d * xhat;
      dbeta += d;
    }
    partial[2 * block * cols + j] = dgamma;
    partial[(2 * block + 1) * cols + j] = dbeta;
  }
}

// dgamma[c] += Σ_block partial[block, 0, c], dbeta[c] += Σ_block partial[block, 1, c], blocks in order.
template <class T>
__global__ void layernorm_param_sums_kernel(const Accum<T>* partial, T* dgamma, T* dbeta, std::int64_t blocks,
                                            std::int64_t cols) {
  using A = Accum<T>;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < cols;
       j += stride) {
    A dgamma_sum = 0, dbeta_sum = 0;
    for (std::int64_t block = 0; block < blocks; ++block) {
      dgamma_sum += partial[2 * block * cols + j];
      dbeta_sum += partial[(2 * block + 1) * cols + j];
    }
    dgamma[j] = from_accum<T>(to_accum(dgamma[j]) + dgamma_sum);
    dbeta[j] = from_accum<T>(to_accum(dbeta[j]) + dbeta_sum);
  }
}

}  // namespace

void launch_layernorm(DType dtype, const void* x, const void* gamma, const void* beta, void* out, void* mean,
                      void* rstd, std::int64_t rows, std::int64_t cols, double eps, cudaStream_t stream) {
  detail::dispatch_floating(dtype, "layernorm", [&](auto tag) {
    using T = decltype(tag);
    layernorm_kernel<T><<<row_grid(rows), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<const T*>(gamma), static_cast<const T*>(beta),
        static_cast<T*>(out), static_cast<T*>(mean), static_cast<T*>(rstd), rows, cols,
        static_cast<Accum<T>>(eps));
  });
}

std::int64_t layernorm_backward_scratch_elements(std::int64_t rows, std::int64_t cols) {
  return row_blocks(rows).count * 2 * cols;
}

void launch_layernorm_backward(DType dtype, const void* dy, const void* x, const void* gamma,
                               const void* mean, const void* rstd, void* dx, void* dgamma, void* dbeta,
                               void* scratch, std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;  // dx is empty and nothing is added to dgamma, dbeta
  detail::dispatch_floating(dtype, "layernorm_backward", [&](auto tag) {
    using T = decltype(tag);
    using A = Accum<T>;
    layernorm_dx_kernel<T><<<row_grid(rows), kThreads, 0, stream>>>(
        static_cast<const T*>(dy), static_cast<const T*>(x), static_cast<const T*>(gamma),
        static_cast<const T*>(mean), static_cast<const T*>(rstd), static_cast<T*>(dx), rows, cols);
    const RowBlocks blocks = row_blocks(rows);
    const dim3 partial_grid(detail::grid_for(cols), static_cast<unsigned>(blocks.count));
    layernorm_param_partials_kernel<T><<<partial_grid, kThreads, 0, stream>>>(
        static_cast<const T*>(dy), static_cast<const T*>(x), static_cast<const T*>(mean),
        static_cast<const T*>(rstd), static_cast<A*>(scratch), rows, cols, blocks.rows_per_block);
    layernorm_param_sums_kernel<T><<<detail::grid_for(cols), kThreads, 0, stream>>>(
        static_cast<const A*>(scratch), static_cast<T*>(dgamma), static_cast<T*>(dbeta), blocks.count, cols);
  });
}

}  // namespace mtnlg::cuda::kernels
