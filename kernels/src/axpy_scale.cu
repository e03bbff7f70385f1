// axpy: y[i] += alpha · x[i]; scale: x[i] *= alpha. x, y: (n) contiguous; y may be x. Each element is
// computed in Accum<T> and rounded once. When every pointer is 16-byte aligned, threads move 16-byte packs (8
// bf16/f16, 4 f32, 2 f64) for full memory bandwidth, and the last n mod pack elements go one at a time.
#include "common.cuh"
#include "mtnlg/cuda/axpy_scale.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

template <class T>
__device__ __forceinline__ T axpy_one(Accum<T> alpha, T x, T y) {
  return from_accum<T>(to_accum(y) + alpha * to_accum(x));
}

// packed: x and y are 16-byte aligned.
template <class T>
__global__ void axpy_kernel(Accum<T> alpha, const T* x, T* y, std::int64_t n, bool packed) {
  constexpr int kPack = Pack<T>::kSize;
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t packs = packed ? n / kPack : 0;
  const auto* x_packs = reinterpret_cast<const Pack<T>*>(x);
  auto* y_packs = reinterpret_cast<Pack<T>*>(y);
  for (std::int64_t p = start; p < packs; p += stride) {
    const Pack<T> xp = x_packs[p];
    Pack<T> yp = y_packs[p];
#pragma unroll
    for (int k = 0; k < kPack; ++k) yp.v[k] = axpy_one(alpha, xp.v[k], yp.v[k]);
    y_packs[p] = yp;
  }
  for (std::int64_t i = packs * kPack + start; i < n; i += stride) y[i] = axpy_one(alpha, x[i], y[i]);
}

// packed: x is 16-byte aligned.
template <class T>
__global__ void scale_kernel(Accum<T> alpha, T* x, std::int64_t n, bool packed) {
  constexpr int kPack = Pack<T>::kSize;
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t packs = packed ? n / kPack : 0;
  auto* x_packs = reinterpret_cast<Pack<T>*>(x);
  for (std::int64_t p = start; p < packs; p += stride) {
    Pack<T> xp = x_packs[p];
#pragma unroll
    for (int k = 0; k < kPack; ++k) xp.v[k] = from_accum<T>(alpha * to_accum(xp.v[k]));
    x_packs[p] = xp;
  }
  for (std::int64_t i = packs * kPack + start; i < n; i += stride)
    x[i] = from_accum<T>(alpha * to_accum(x[i]));
}

}  // namespace

void launch_axpy(DType dtype, double alpha, const void* x, void* y, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_floating(dtype, "axpy", [&](auto tag) {
    using T = decltype(tag);
    const bool packed = aligned(x) && aligned(y);
    axpy_kernel<T><<<grid_for(packed ? n / Pack<T>::kSize + 1 : n), kThreads, 0, stream>>>(
        static_cast<Accum<T>>(alpha), static_cast<const T*>(x), static_cast<T*>(y), n, packed);
  });
}

void launch_scale(DType dtype, double alpha, void* x, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_floating(dtype, "scale", [&](auto tag) {
    using T = decltype(tag);
    const bool packed = aligned(x);
    scale_kernel<T><<<grid_for(packed ? n / Pack<T>::kSize + 1 : n), kThreads, 0, stream>>>(
        static_cast<Accum<T>>(alpha), static_cast<T*>(x), n, packed);
  });
}

}  // namespace mtnlg::cuda::kernels
