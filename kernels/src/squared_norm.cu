// squared_norm: out[0] = Σ_i x[i]². x: (n) contiguous; out: (1).
//
// Deterministic, with no atomics, in two passes over a fixed partition that depends only on n: pass 1 gives
// each chunk of x one block, whose threads sum the elements t, t + kThreads, ... of the chunk and combine
// them with block_sum's fixed butterfly, writing the chunk's sum to partial (chunks); pass 2, one block, adds
// the chunk sums the same way and writes out. A single chunk writes out directly. Sums are in double for
// every dtype, as on the CPU backend, so the global gradient norm built from these stays accurate; the
// workspace is allocated on the stream (cudaMallocAsync), like the CPU backend's scratch vector outside the
// tensor allocator's accounting.
#include "common.cuh"
#include "mtnlg/cuda/squared_norm.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

constexpr std::int64_t kMinChunk = 16384;
constexpr std::int64_t kMaxChunks = 1024;

// Grid (chunks), block kThreads. partial: (chunks), or null when there is one chunk and its sum goes to out.
template <class T>
__global__ void squares_chunk_kernel(const T* x, std::int64_t n, std::int64_t chunk, double* partial,
                                     T* out) {
  __shared__ double scratch[32];
  const std::int64_t first = blockIdx.x * chunk;
  const std::int64_t end = first + chunk < n ? first + chunk : n;
  double sum = 0.0;
  for (std::int64_t i = first + threadIdx.x; i < end; i += blockDim.x) {
    const double v = static_cast<double>(to_accum(x[i]));
    sum += v * v;
  }
  sum = block_sum(sum, scratch);
  if (threadIdx.x != 0) return;
  if (partial != nullptr)
    partial[blockIdx.x] = sum;
  else
    *out = from_accum<T>(sum);
}

// One block of kThreads. partial: (chunks).
template <class T>
__global__ void squares_combine_kernel(const double* partial, std::int64_t chunks, T* out) {
  __shared__ double scratch[32];
  double sum = 0.0;
  for (std::int64_t i = threadIdx.x; i < chunks; i += blockDim.x) sum += partial[i];
  sum = block_sum(sum, scratch);
  if (threadIdx.x == 0) *out = from_accum<T>(sum);
}

}  // namespace

void launch_squared_norm(DType dtype, const void* x, void* out, std::int64_t n, cudaStream_t stream) {
  const std::int64_t min_chunk = (n + kMaxChunks - 1) / kMaxChunks;
  const std::int64_t chunk = min_chunk > kMinChunk ? min_chunk : kMinChunk;
  const std::int64_t chunks = n > chunk ? (n + chunk - 1) / chunk : 1;
  dispatch_floating(dtype, "squared_norm", [&](auto tag) {
    using T = decltype(tag);
    const auto* xt = static_cast<const T*>(x);
    auto* outt = static_cast<T*>(out);
    if (chunks == 1) {
      squares_chunk_kernel<T><<<1, kThreads, 0, stream>>>(xt, n, chunk, nullptr, outt);
      return;
    }
    double* partial = nullptr;
    // On failure the error is left for the caller's cudaGetLastError, like a failed launch.
    if (cudaMallocAsync(reinterpret_cast<void**>(&partial), sizeof(double) * chunks, stream) != cudaSuccess)
      return;
    squares_chunk_kernel<T>
        <<<static_cast<unsigned>(chunks), kThreads, 0, stream>>>(xt, n, chunk, partial, outt);
    squares_combine_kernel<T><<<1, kThreads, 0, stream>>>(partial, chunks, outt);
    (void)cudaFreeAsync(partial, stream);
  });
}

}  // namespace mtnlg::cuda::kernels
