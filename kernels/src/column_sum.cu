// column_sum: out[c] = beta · out[c] + Σ_r x[r, c] (beta = 0 overwrites out without reading it, so an
// uninitialised out cannot leak NaNs). x: (rows, cols) contiguous; out: (cols).
//
// Deterministic, with no atomics: the rows are split into chunks whose size depends only on rows, so the
// order of every addition is fixed by the problem size alone. Pass 1, a grid of (column tiles, row chunks):
// in a block, lane (x, y) sums the rows y, y + kRowLanes, ... of its chunk for column x of the tile, then
// lane y = 0 adds the kRowLanes partial sums in order, and writes the chunk's sum to partial (chunks, cols) —
// or, with a single chunk, the result to out at once. Pass 2: each column adds its chunks' sums in chunk
// order. Sums are in double for every dtype, as on the CPU backend; the workspace is allocated on the stream
// (cudaMallocAsync), like the CPU backend's scratch vector outside the tensor allocator's accounting.
#include "common.cuh"
#include "mtnlg/cuda/column_sum.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

constexpr int kColumnTile = 32;  // columns per block: a warp reads a row's 32 consecutive elements
constexpr int kRowLanes = 8;     // rows a block reads at once
constexpr std::int64_t kMinChunkRows = 256;
constexpr std::int64_t kMaxChunks = 128;

template <class T>
__device__ __forceinline__ T finish(double sum, double beta, const T* out) {
  return from_accum<T>(beta == 0.0 ? sum : beta * static_cast<double>(to_accum(*out)) + sum);
}

// Block (kColumnTile, kRowLanes); grid (ceil(cols / kColumnTile), chunks). partial: (chunks, cols), or null
// when there is one chunk and its sum goes to out.
template <class T>
__global__ void column_chunk_kernel(const T* x, std::int64_t rows, std::int64_t cols, std::int64_t chunk_rows,
                                    double* partial, T* out, double beta) {
  __shared__ double lane_sums[kRowLanes][kColumnTile];
  const std::int64_t col = blockIdx.x * std::int64_t{kColumnTile} + threadIdx.x;
  const std::int64_t first = blockIdx.y * chunk_rows;
  const std::int64_t end = first + chunk_rows < rows ? first + chunk_rows : rows;
  double sum = 0.0;
  if (col < cols)
    for (std::int64_t r = first + threadIdx.y; r < end; r += kRowLanes)
      sum += static_cast<double>(to_accum(x[r * cols + col]));
  lane_sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || col >= cols) return;
  double chunk_sum = 0.0;
  for (int lane = 0; lane < kRowLanes; ++lane) chunk_sum += lane_sums[lane][threadIdx.x];
  if (partial != nullptr)
    partial[blockIdx.y * cols + col] = chunk_sum;
  else
    out[col] = finish(chunk_sum, beta, out + col);
}

// partial: (chunks, cols); out: (cols).
template <class T>
__global__ void column_combine_kernel(const double* partial, std::int64_t chunks, std::int64_t cols, T* out,
                                      double beta) {
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t col = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; col < cols; col += stride) {
    double sum = 0.0;
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) sum += partial[chunk * cols + col];
    out[col] = finish(sum, beta, out + col);
  }
}

}  // namespace

void launch_column_sum(DType dtype, const void* x, void* out, std::int64_t rows, std::int64_t cols,
                       double beta, cudaStream_t stream) {
  if (cols == 0) return;
  const std::int64_t min_chunk_rows = (rows + kMaxChunks - 1) / kMaxChunks;
  const std::int64_t chunk_rows = min_chunk_rows > kMinChunkRows ? min_chunk_rows : kMinChunkRows;
  const std::int64_t chunks = rows > chunk_rows ? (rows + chunk_rows - 1) / chunk_rows : 1;
  dispatch_floating(dtype, "column_sum", [&](auto tag) {
    using T = decltype(tag);
    const auto* xt = static_cast<const T*>(x);
    auto* outt = static_cast<T*>(out);
    const dim3 grid(static_cast<unsigned>((cols + kColumnTile - 1) / kColumnTile),
                    static_cast<unsigned>(chunks));
    const dim3 block(kColumnTile, kRowLanes);
    if (chunks == 1) {
      column_chunk_kernel<T><<<grid, block, 0, stream>>>(xt, rows, cols, chunk_rows, nullptr, outt, beta);
      return;
    }
    double* partial = nullptr;
    // On failure the error is left for the caller's cudaGetLastError, like a failed launch.
    if (cudaMallocAsync(reinterpret_cast<void**>(&partial), sizeof(double) * chunks * cols, stream) !=
        cudaSuccess)
      return;
    column_chunk_kernel<T><<<grid, block, 0, stream>>>(xt, rows, cols, chunk_rows, partial, outt, beta);
    column_combine_kernel<T><<<grid_for(cols), kThreads, 0, stream>>>(partial, chunks, cols, outt, beta);
    (void)cudaFreeAsync(partial, stream);
  });
}

}  // namespace mtnlg::cuda::kernels
