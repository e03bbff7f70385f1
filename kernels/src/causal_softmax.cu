// Causal softmax over attention scores (launchers: mtnlg/cuda/causal_softmax.hpp). scores, probs, dprobs,
// dscores: (BH, T, T), viewed as BH·T rows of length T; row r is query i = r mod T, which sees keys j ≤ i.
// One block per row (block reductions of common.cuh: a fixed order, so the same bits every run), arithmetic
// in A = f32 (f64 for f64).
//
// In place (probs = scores, dscores = dprobs) is safe: the reductions read the whole row and end in a barrier
// before the last pass, in which each thread reads element j and then writes element j, and no other.
#include <cstdint>
#include <limits>

#include "common.cuh"
#include "mtnlg/cuda/causal_softmax.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using detail::Accum;
using detail::block_max;
using detail::block_sum;
using detail::from_accum;
using detail::kThreads;
using detail::to_accum;

using detail::row_grid;

template <class T>
__global__ void causal_softmax_kernel(const T* scores, T* probs, std::int64_t rows, std::int64_t seq,
                                      Accum<T> scale) {
  using A = Accum<T>;
  constexpr A kLowest = -std::numeric_limits<A>::infinity();
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* s = scores + r * seq;
    T* p = probs + r * seq;
    const std::int64_t visible = r % seq + 1;  // keys 0 .. i
    // Subtracting the row's maximum keeps exp() from overflowing.
    A local_max = kLowest;
    for (std::int64_t j = threadIdx.x; j < visible; j += blockDim.x)
      local_max = max(local_max, scale * to_accum(s[j]));
    const A row_max = block_max(local_max, scratch, kLowest);
    A local_sum = 0;
    for (std::int64_t j = threadIdx.x; j < visible; j += blockDim.x)
      local_sum += exp(scale * to_accum(s[j]) - row_max);
    const A sum = block_sum(local_sum, scratch);
    for (std::int64_t j = threadIdx.x; j < seq; j += blockDim.x)
      p[j] = from_accum<T>(j < visible ? exp(scale * to_accum(s[j]) - row_max) / sum : A(0));
  }
}

// dscores[j] = scale · p[j] · (dp[j] − Σ_{k ≤ i} dp[k]·p[k]) for j ≤ i, 0 above the diagonal (where dp may be
// anything).
template <class T>
__global__ void causal_softmax_backward_kernel(const T* probs, const T* dprobs, T* dscores, std::int64_t rows,
                                               std::int64_t seq, Accum<T> scale) {
  using A = Accum<T>;
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* p = probs + r * seq;
    const T* dp = dprobs + r * seq;
    T* ds = dscores + r * seq;
    const std::int64_t visible = r % seq + 1;
    A local_dot = 0;
    for (std::int64_t j = threadIdx.x; j < visible; j += blockDim.x)
      local_dot += to_accum(dp[j]) * to_accum(p[j]);
    const A dot = block_sum(local_dot, scratch);
    for (std::int64_t j = threadIdx.x; j < seq; j += blockDim.x)
      ds[j] = from_accum<T>(j < visible ? scale * to_accum(p[j]) * (to_accum(dp[j]) - dot) : A(0));
  }
}

}  // namespace

void launch_causal_softmax(DType dtype, const void* scores, void* probs, std::int64_t heads, std::int64_t seq,
                           double scale, cudaStream_t stream) {
  const std::int64_t rows = heads * seq;
  detail::dispatch_floating(dtype, "causal_softmax", [&](auto tag) {
    using T = decltype(tag);
    causal_softmax_kernel<T><<<row_grid(rows), kThreads, 0, stream>>>(
        static_cast<const T*>(scores), static_cast<T*>(probs), rows, seq, static_cast<Accum<T>>(scale));
  });
}

void launch_causal_softmax_backward(DType dtype, const void* probs, const void* dprobs, void* dscores,
                                    std::int64_t heads, std::int64_t seq, double scale, cudaStream_t stream) {
  const std::int64_t rows = heads * seq;
  detail::dispatch_floating(dtype, "causal_softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    causal_softmax_backward_kernel<T><<<row_grid(rows), kThreads, 0, stream>>>(
        static_cast<const T*>(probs), static_cast<const T*>(dprobs), static_cast<T*>(dscores), rows, seq,
        static_cast<Accum<T>>(scale));
  });
}

}  // namespace mtnlg::cuda::kernels
