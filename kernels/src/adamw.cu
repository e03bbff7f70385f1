// One AdamW step (decoupled weight decay, Loshchilov & Hutter 2019), the CPU backend's formula: param, grad,
// m, v (n) contiguous and disjoint, m and v in the param's dtype;
//   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  m̂ = m/(1−β1^step);  v̂ = v/(1−β2^step)
//   param = param − lr·(m̂ / (√v̂ + eps) + weight_decay·param)
// Each element is computed in Accum<T> (f32 for f32/bf16/f16, f64 for f64) and each result rounded once; the
// bias corrections are computed once, in double, on the host. When every pointer is 16-byte aligned, threads
// move 16-byte packs (8 bf16/f16, 4 f32, 2 f64), and the last n mod pack elements go one at a time.
#include <cmath>

#include "common.cuh"
#include "mtnlg/cuda/adamw.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

// The step's constants in the accumulation type A.
template <class A>
struct AdamWConstants {
  A lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, correction1, correction2;
};

template <class A>
__device__ __forceinline__ A sqrt_of(A x) {
  if constexpr (std::is_same_v<A, float>)
    return sqrtf(x);
  else
    return sqrt(x);
}

// Updates one element's param, m and v in place.
template <class T>
__device__ __forceinline__ void adamw_one(const AdamWConstants<Accum<T>>& c, T& param, T grad, T& m, T& v) {
  using A = Accum<T>;
  const A g = to_accum(grad), p = to_accum(param);
  const A mi = c.beta1 * to_accum(m) + c.one_minus_beta1 * g;
  const A vi = c.beta2 * to_accum(v) + c.one_minus_beta2 * g * g;
  const A m_hat = mi / c.correction1, v_hat = vi / c.correction2;
  m = from_accum<T>(mi);
  v = from_accum<T>(vi);
  param = from_accum<T>(p - c.lr * (m_hat / (sqrt_of(v_hat) + c.eps) + c.weight_decay * p));
}

// packed: all four pointers are 16-byte aligned.
template <class T>
__global__ void adamw_kernel(T* param, const T* grad, T* m, T* v, std::int64_t n, bool packed,
                             AdamWConstants<Accum<T>> c) {
  constexpr int kPack = Pack<T>::kSize;
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t packs = packed ? n / kPack : 0;
  auto* param_packs = reinterpret_cast<Pack<T>*>(param);
  const auto* grad_packs = reinterpret_cast<const Pack<T>*>(grad);
  auto* m_packs = reinterpret_cast<Pack<T>*>(m);
  auto* v_packs = reinterpret_cast<Pack<T>*>(v);
  for (std::int64_t p = start; p < packs; p += stride) {
    Pack<T> pp = param_packs[p], mp = m_packs[p], vp = v_packs[p];
    const Pack<T> gp = grad_packs[p];
#pragma unroll
    for (int k = 0; k < kPack; ++k) adamw_one(c, pp.v[k], gp.v[k], mp.v[k], vp.v[k]);
    param_packs[p] = pp;
    m_packs[p] = mp;
    v_packs[p] = vp;
  }
  for (std::int64_t i = packs * kPack + start; i < n; i += stride)
    adamw_one(c, param[i], grad[i], m[i], v[i]);
}

}  // namespace

void launch_adamw(DType dtype, void* param, const void* grad, void* m, void* v, std::int64_t n,
                  const AdamWHyperparams& hyper, cudaStream_t stream) {
  if (n == 0) return;
  const auto step = static_cast<double>(hyper.step);
  // Bias corrections: m and v start at 0, so early averages are scaled down by 1 − β^step.
  const double correction1 = 1.0 - std::pow(hyper.beta1, step),
               correction2 = 1.0 - std::pow(hyper.beta2, step);
  dispatch_floating(dtype, "adamw", [&](auto tag) {
    using T = decltype(tag);
    using A = Accum<T>;
    const AdamWConstants<A> c{static_cast<A>(hyper.lr),           static_cast<A>(hyper.beta1),
                              static_cast<A>(1.0 - hyper.beta1),  static_cast<A>(hyper.beta2),
                              static_cast<A>(1.0 - hyper.beta2),  static_cast<A>(hyper.eps),
                              static_cast<A>(hyper.weight_decay), static_cast<A>(correction1),
                              static_cast<A>(correction2)};
    const bool packed = aligned(param) && aligned(grad) && aligned(m) && aligned(v);
    adamw_kernel<T><<<grid_for(packed ? n / Pack<T>::kSize + 1 : n), kThreads, 0, stream>>>(
        static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m), static_cast<T*>(v), n,
        packed, c);
  });
}

}  // namespace mtnlg::cuda::kernels
