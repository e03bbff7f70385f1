// Cross-entropy of logits against target tokens (launchers: mtnlg/cuda/cross_entropy.hpp). Shapes: logits,
// dlogits (N, V), of which columns j < valid_cols are the vocabulary and the rest padding (−∞); targets (N)
// i32; losses (N), in S: T or, for 16-bit T, f32. One block per row with the block reductions of common.cuh
// (a fixed order, so the same bits every run); arithmetic in A = f32 (f64 for f64). The log-sum-exp subtracts
// the row's maximum first, so exp() cannot overflow.
//
// The backward pass may run in place (dlogits = logits): the row's max and sum end in a barrier before the
// gradient pass, in which each thread reads logit j and then writes gradient j, and no other.
#include <cstdint>
#include <limits>

#include "common.cuh"
#include "mtnlg/cuda/cross_entropy.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using detail::Accum;
using detail::block_max;
using detail::block_sum;
using detail::from_accum;
using detail::report_error;
using detail::to_accum;

using detail::row_grid;

// The row's target when it lies in [0, valid_cols); otherwise reports it (thread 0 only) and returns −1,
// which matches no column.
__device__ std::int64_t checked_target(const std::int32_t* targets, std::int64_t row, std::int64_t valid_cols,
                                       KernelError* error) {
  const std::int64_t target = targets[row];
  if (target >= 0 && target < valid_cols) return target;
  if (threadIdx.x == 0) report_error(error, KernelErrorCode::target_out_of_range, row, target, valid_cols);
  return -1;
}

// The max and Σ exp(x − max) of x[0, valid_cols), every thread getting both.
template <class T>
struct RowStats {
  Accum<T> max, sum_exp;
};

template <class T>
__device__ RowStats<T> row_stats(const T* x, std::int64_t valid_cols, Accum<T>* scratch) {
  using A = Accum<T>;
  constexpr A kLowest = -std::numeric_limits<A>::infinity();
  A local_max = kLowest;
  for (std::int64_t j = threadIdx.x; j < valid_cols; j += blockDim.x)
    local_max = max(local_max, to_accum(x[j]));
  const A row_max = block_max(local_max, scratch, kLowest);
  A local_sum = 0;
  for (std::int64_t j = threadIdx.x; j < valid_cols; j += blockDim.x)
    local_sum += exp(to_accum(x[j]) - row_max);
  return {row_max, block_sum(local_sum, scratch)};
}

template <class T, class S>
__global__ void cross_entropy_kernel(const T* logits, const std::int32_t* targets, S* losses,
                                     std::int64_t rows, std::int64_t cols, std::int64_t valid_cols,
                                     KernelError* error) {
  using A = Accum<T>;
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = logits + r * cols;
    const std::int64_t target = checked_target(targets, r, valid_cols, error);
    const RowStats<T> stats = row_stats(x, valid_cols, scratch);
    if (threadIdx.x == 0) {
      const A target_logit = target >= 0 ? to_accum(x[target]) : A(0);
      losses[r] = from_accum<S>(log(stats.sum_exp) + stats.max - target_logit);
    }
  }
}

template <class T>
__global__ void cross_entropy_backward_kernel(const T* logits, const std::int32_t* targets, T* dlogits,
                                              std::int64_t rows, std::int64_t cols, std::int64_t valid_cols,
                                              Accum<T> weight, KernelError* error) {
  using A = Accum<T>;
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = logits + r * cols;
    T* dx = dlogits + r * cols;
    const std::int64_t target = checked_target(targets, r, valid_cols, error);
    const RowStats<T> stats = row_stats(x, valid_cols, scratch);
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      A gradient = 0;
      if (j < valid_cols) {
        const A p = exp(to_accum(x[j]) - stats.max) / stats.sum_exp;
        gradient = weight * (j == target ? p - A(1) : p);
      }
      dx[j] = from_accum<T>(gradient);
    }
  }
}

}  // namespace

void launch_cross_entropy(DType dtype, DType losses_dtype, const void* logits, const std::int32_t* targets,
                          void* losses, std::int64_t rows, std::int64_t cols, std::int64_t valid_cols,
                          KernelError* error, cudaStream_t stream) {
  detail::dispatch_loss_types(dtype, losses_dtype, "cross_entropy", [&](auto t, auto s) {
    using T = decltype(t);
    using S = decltype(s);
    cross_entropy_kernel<T, S><<<row_grid(rows), detail::kVocabRowThreads, 0, stream>>>(
        static_cast<const T*>(logits), targets, static_cast<S*>(losses), rows, cols, valid_cols, error);
  });
}

void launch_cross_entropy_backward(DType dtype, const void* logits, const std::int32_t* targets,
                                   void* dlogits, std::int64_t rows, std::int64_t cols,
                                   std::int64_t valid_cols, double weight, KernelError* error,
                                   cudaStream_t stream) {
  detail::dispatch_floating(dtype, "cross_entropy_backward", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_backward_kernel<T><<<row_grid(rows), detail::kVocabRowThreads, 0, stream>>>(
        static_cast<const T*>(logits), targets, static_cast<T*>(dlogits), rows, cols, valid_cols,
        static_cast<Accum<T>>(weight), error);
  });
}

}  // namespace mtnlg::cuda::kernels
