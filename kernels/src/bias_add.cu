// bias_add: out[r, c] = x[r, c] + bias[c]. x, out: (rows, cols) contiguous; bias: (cols); out may be x (each
// element is read before it is written, at the same index). Computed in Accum<T>, rounded once.
//
// A grid-stride loop over all elements, any cols: each thread finds its first element's column with one
// division and then steps it along by the stride, modulo cols, without dividing again. When cols is a
// multiple of a 16-byte pack (8 bf16/f16, 4 f32, 2 f64) and every pointer is 16-byte aligned, the loop runs
// over packs instead, which never straddle a row, for full memory bandwidth.
#include "common.cuh"
#include "mtnlg/cuda/bias_add.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

// K consecutive elements, moved as one load or store (K = 1 on the unaligned path, else a 16-byte pack).
template <class T, int K>
struct alignas(sizeof(T) * K) Elements {
  T v[K];
};

// x, out: (n) packs; bias: (cols) packs.
template <class T, int K>
__global__ void bias_add_kernel(const Elements<T, K>* x, const Elements<T, K>* bias, Elements<T, K>* out,
                                std::int64_t n, std::int64_t cols) {
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t column_step = stride % cols;
  std::int64_t column = start % cols;
  for (std::int64_t i = start; i < n; i += stride) {
    const Elements<T, K> xp = x[i], bp = bias[column];
    Elements<T, K> result;
#pragma unroll
    for (int k = 0; k < K; ++k) result.v[k] = from_accum<T>(to_accum(xp.v[k]) + to_accum(bp.v[k]));
    out[i] = result;
    column += column_step;
    if (column >= cols) column -= cols;
  }
}

template <class T, int K>
void launch_packs(const void* x, const void* bias, void* out, std::int64_t n, std::int64_t cols,
                  cudaStream_t stream) {
  bias_add_kernel<T, K><<<grid_for(n / K), kThreads, 0, stream>>>(
      static_cast<const Elements<T, K>*>(x), static_cast<const Elements<T, K>*>(bias),
      static_cast<Elements<T, K>*>(out), n / K, cols / K);
}

}  // namespace

void launch_bias_add(DType dtype, const void* x, const void* bias, void* out, std::int64_t rows,
                     std::int64_t cols, cudaStream_t stream) {
  const std::int64_t n = rows * cols;
  if (n == 0) return;
  dispatch_floating(dtype, "bias_add", [&](auto tag) {
    using T = decltype(tag);
    constexpr int kPack = 16 / sizeof(T);
    if (cols % kPack == 0 && aligned(x) && aligned(bias) && aligned(out))
      launch_packs<T, kPack>(x, bias, out, n, cols, stream);
    else
      launch_packs<T, 1>(x, bias, out, n, cols, stream);
  });
}

}  // namespace mtnlg::cuda::kernels
