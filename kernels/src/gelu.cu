// GPT-2's tanh GeLU, forward out[i] = gelu(x[i]) and backward dx[i] = dy[i] · gelu'(x[i]); all (n)
// contiguous, out may be x and dx may be dy. The CPU backend's formulas, evaluated in Accum<T> and rounded
// once: 0.5·(1 + tanh(u)) is written as σ(2u) = 1 / (1 + e^(−2u)), which avoids the cancellation 1 + tanh(u)
// suffers for negative x. When every pointer is 16-byte aligned, threads move 16-byte packs (8 bf16/f16,
// 4 f32, 2 f64), and the last n mod pack elements go one at a time.
#include "common.cuh"
#include "mtnlg/cuda/gelu.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

// e^x in the precision of x (expf for float, not a promotion to double).
template <class A>
__device__ __forceinline__ A exp_of(A x) {
  if constexpr (std::is_same_v<A, float>)
    return expf(x);
  else
    return exp(x);
}

// A: float or double.
template <class A>
struct Gelu {
  static constexpr A kSqrt2OverPi = A(0.7978845608028654);
  static constexpr A kCubic = A(0.044715);
  __device__ static A sigmoid2u(A x) {
    const A u = kSqrt2OverPi * (x + kCubic * x * x * x);
    return A(1) / (A(1) + exp_of(A(-2) * u));
  }
  __device__ static A forward(A x) { return x * sigmoid2u(x); }
  // d/dx [x·s(x)] with s = σ(2u): s + x·2s(1 − s)·u'(x), u'(x) = √(2/π)·(1 + 3·0.044715·x²).
  __device__ static A derivative(A x) {
    const A s = sigmoid2u(x);
    const A tail = s * (A(1) - s);
    if (tail == A(0)) return s;  // |x| so large that x² may overflow: the second term's limit is 0
    const A du = kSqrt2OverPi * (A(1) + A(3) * kCubic * x * x);
    return s + x * A(2) * tail * du;
  }
};

template <class T>
__device__ __forceinline__ T gelu_one(T x) {
  return from_accum<T>(Gelu<Accum<T>>::forward(to_accum(x)));
}

template <class T>
__device__ __forceinline__ T gelu_backward_one(T x, T dy) {
  return from_accum<T>(to_accum(dy) * Gelu<Accum<T>>::derivative(to_accum(x)));
}

// packed: x and out are 16-byte aligned.
template <class T>
__global__ void gelu_kernel(const T* x, T* out, std::int64_t n, bool packed) {
  constexpr int kPack = Pack<T>::kSize;
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t packs = packed ? n / kPack : 0;
  const auto* x_packs = reinterpret_cast<const Pack<T>*>(x);
  auto* out_packs = reinterpret_cast<Pack<T>*>(out);
  for (std::int64_t p = start; p < packs; p += stride) {
    const Pack<T> xp = x_packs[p];
    Pack<T> result;
#pragma unroll
    for (int k = 0; k < kPack; ++k) result.v[k] = gelu_one(xp.v[k]);
    out_packs[p] = result;
  }
  for (std::int64_t i = packs * kPack + start; i < n; i += stride) out[i] = gelu_one(x[i]);
}

// packed: x, dy and dx are 16-byte aligned.
template <class T>
__global__ void gelu_backward_kernel(const T* x, const T* dy, T* dx, std::int64_t n, bool packed) {
  constexpr int kPack = Pack<T>::kSize;
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t packs = packed ? n / kPack : 0;
  const auto* x_packs = reinterpret_cast<const Pack<T>*>(x);
  const auto* dy_packs = reinterpret_cast<const Pack<T>*>(dy);
  auto* dx_packs = reinterpret_cast<Pack<T>*>(dx);
  for (std::int64_t p = start; p < packs; p += stride) {
    const Pack<T> xp = x_packs[p], dyp = dy_packs[p];
    Pack<T> result;
#pragma unroll
    for (int k = 0; k < kPack; ++k) result.v[k] = gelu_backward_one(xp.v[k], dyp.v[k]);
    dx_packs[p] = result;
  }
  for (std::int64_t i = packs * kPack + start; i < n; i += stride) dx[i] = gelu_backward_one(x[i], dy[i]);
}

}  // namespace

void launch_gelu(DType dtype, const void* x, void* out, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  dispatch_floating(dtype, "gelu", [&](auto tag) {
    using T = decltype(tag);
    const bool packed = aligned(x) && aligned(out);
    gelu_kernel<T><<<grid_for(packed ? n / Pack<T>::kSize + 1 : n), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(out), n, packed);
  });
}

void launch_gelu_backward(DType dtype, const void* x, const void* dy, void* dx, std::int64_t n,
                          cudaStream_t stream) {
  if (n == 0) return;
  dispatch_floating(dtype, "gelu_backward", [&](auto tag) {
    using T = decltype(tag);
    const bool packed = aligned(x) && aligned(dy) && aligned(dx);
    gelu_backward_kernel<T><<<grid_for(packed ? n / Pack<T>::kSize + 1 : n), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dx), n, packed);
  });
}

}  // namespace mtnlg::cuda::kernels
