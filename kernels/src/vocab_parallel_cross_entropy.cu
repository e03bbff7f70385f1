// Megatron's vocabulary-parallel cross-entropy pieces (launchers: vocab_parallel_cross_entropy.hpp).
// Shapes: x, logits, dlogits (N, Vl): columns [col_offset, col_offset + Vl) of the full logits, of which the
// local columns j < valid_cols are vocabulary (valid_cols may be 0); targets (N) i32, full-vocabulary ids;
// row_max, sum_exp, target_logit, losses, out (N), in S: T or, for 16-bit T, f32. Row kernels take one block
// per row with the block reductions of common.cuh (a fixed order, so the same bits every run); arithmetic in
// A = f32 (f64 for f64). With one slice (col_offset 0, Vl = V) the pieces compute cross_entropy.cu's
// expressions.
//
// In place (losses = an input, dlogits = logits) is safe: each thread reads element j (row i) and then writes
// element j (row i), and no other.
#include <cstdint>
#include <limits>

#include "common.cuh"
#include "mtnlg/cuda/vocab_parallel_cross_entropy.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using detail::Accum;
using detail::block_max;
using detail::block_sum;
using detail::from_accum;
using detail::kThreads;
using detail::report_error;
using detail::to_accum;

using detail::row_grid;

// The row's target as a local column when this slice holds it among its valid columns, else −1 (another
// slice's, or a negative id or one at or beyond vocab_size when that is given (> 0), which thread 0 reports).
__device__ std::int64_t local_target(const std::int32_t* targets, std::int64_t row, std::int64_t col_offset,
                                     std::int64_t valid_cols, std::int64_t vocab_size, KernelError* error) {
  const std::int64_t target = targets[row];
  if (target < 0) {
    if (threadIdx.x == 0) report_error(error, KernelErrorCode::negative_target, row, target, 0);
    return -1;
  }
  if (vocab_size > 0 && target >= vocab_size) {
    if (threadIdx.x == 0) report_error(error, KernelErrorCode::target_out_of_range, row, target, vocab_size);
    return -1;
  }
  const std::int64_t local = target - col_offset;
  return local >= 0 && local < valid_cols ? local : -1;
}

template <class T, class S>
__global__ void row_max_kernel(const T* x, S* out, std::int64_t rows, std::int64_t cols,
                               std::int64_t valid_cols) {
  using A = Accum<T>;
  constexpr A kLowest = -std::numeric_limits<A>::infinity();
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    A local_max = kLowest;
    for (std::int64_t j = threadIdx.x; j < valid_cols; j += blockDim.x)
      local_max = max(local_max, to_accum(xr[j]));
    const A row_max = block_max(local_max, scratch, kLowest);
    if (threadIdx.x == 0) out[r] = from_accum<S>(row_max);  // exact: a value of x, or −∞
  }
}

template <class T, class S>
__global__ void cross_entropy_partial_kernel(const T* logits, const std::int32_t* targets, const S* row_max,
                                             S* sum_exp, S* target_logit, std::int64_t rows,
                                             std::int64_t cols, std::int64_t col_offset,
                                             std::int64_t valid_cols, std::int64_t vocab_size,
                                             KernelError* error) {
  using A = Accum<T>;
  __shared__ A scratch[32];
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = logits + r * cols;
    const std::int64_t target = local_target(targets, r, col_offset, valid_cols, vocab_size, error);
    const A max = to_accum(row_max[r]);
    A local_sum = 0;
    for (std::int64_t j = threadIdx.x; j < valid_cols; j += blockDim.x)
      local_sum += exp(to_accum(x[j]) - max);
    const A sum = block_sum(local_sum, scratch);
    if (threadIdx.x == 0) {
      sum_exp[r] = from_accum<S>(sum);
      target_logit[r] = from_accum<S>(target >= 0 ? to_accum(x[target]) : A(0));  // exact: S holds every T
    }
  }
}

// Elementwise over the (N) rows.
template <class T>
__global__ void cross_entropy_from_parts_kernel(const T* row_max, const T* sum_exp, const T* target_logit,
                                                T* losses, std::int64_t rows) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < rows;
       i += stride)
    losses[i] = from_accum<T>(log(to_accum(sum_exp[i])) + to_accum(row_max[i]) - to_accum(target_logit[i]));
}

// No reduction: the row's statistics come in. One block per row all the same, so each block reads them once.
template <class T, class S>
__global__ void cross_entropy_partial_backward_kernel(const T* logits, const std::int32_t* targets,
                                                      const S* row_max, const S* sum_exp, T* dlogits,
                                                      std::int64_t rows, std::int64_t cols,
                                                      std::int64_t col_offset, std::int64_t valid_cols,
                                                      Accum<T> weight, std::int64_t vocab_size,
                                                      KernelError* error) {
  using A = Accum<T>;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = logits + r * cols;
    T* dx = dlogits + r * cols;
    const std::int64_t target = local_target(targets, r, col_offset, valid_cols, vocab_size, error);
    const A max = to_accum(row_max[r]), sum = to_accum(sum_exp[r]);
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      A gradient = 0;
      if (j < valid_cols) {
        const A p = exp(to_accum(x[j]) - max) / sum;
        gradient = weight * (j == target ? p - A(1) : p);
      }
      dx[j] = from_accum<T>(gradient);
    }
  }
}

}  // namespace

void launch_row_max(DType dtype, DType out_dtype, const void* x, void* out, std::int64_t rows,
                    std::int64_t cols, std::int64_t valid_cols, cudaStream_t stream) {
  detail::dispatch_loss_types(dtype, out_dtype, "row_max", [&](auto t, auto s) {
    using T = decltype(t);
    using S = decltype(s);
    row_max_kernel<T, S><<<row_grid(rows), detail::kVocabRowThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<S*>(out), rows, cols, valid_cols);
  });
}

void launch_cross_entropy_partial(DType dtype, DType stats_dtype, const void* logits,
                                  const std::int32_t* targets, const void* row_max, void* sum_exp,
                                  void* target_logit, std::int64_t rows, std::int64_t cols,
                                  std::int64_t col_offset, std::int64_t valid_cols, std::int64_t vocab_size,
                                  KernelError* error, cudaStream_t stream) {
  detail::dispatch_loss_types(dtype, stats_dtype, "cross_entropy_partial", [&](auto t, auto s) {
    using T = decltype(t);
    using S = decltype(s);
    cross_entropy_partial_kernel<T, S><<<row_grid(rows), detail::kVocabRowThreads, 0, stream>>>(
        static_cast<const T*>(logits), targets, static_cast<const S*>(row_max), static_cast<S*>(sum_exp),
        static_cast<S*>(target_logit), rows, cols, col_offset, valid_cols, vocab_size, error);
  });
}

void launch_cross_entropy_from_parts(DType dtype, const void* row_max, const void* sum_exp,
                                     const void* target_logit, void* losses, std::int64_t rows,
                                     cudaStream_t stream) {
  detail::dispatch_floating(dtype, "cross_entropy_from_parts", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_from_parts_kernel<T><<<detail::grid_for(rows), kThreads, 0, stream>>>(
        static_cast<const T*>(row_max), static_cast<const T*>(sum_exp), static_cast<const T*>(target_logit),
        static_cast<T*>(losses), rows);
  });
}

void launch_cross_entropy_partial_backward(DType dtype, DType stats_dtype, const void* logits,
                                           const std::int32_t* targets, const void* row_max,
                                           const void* sum_exp, void* dlogits, std::int64_t rows,
                                           std::int64_t cols, std::int64_t col_offset,
                                           std::int64_t valid_cols, double weight, std::int64_t vocab_size,
                                           KernelError* error, cudaStream_t stream) {
  detail::dispatch_loss_types(dtype, stats_dtype, "cross_entropy_partial_backward", [&](auto t, auto s) {
    using T = decltype(t);
    using S = decltype(s);
    cross_entropy_partial_backward_kernel<T, S><<<row_grid(rows), detail::kVocabRowThreads, 0, stream>>>(
        static_cast<const T*>(logits), targets, static_cast<const S*>(row_max),
        static_cast<const S*>(sum_exp), static_cast<T*>(dlogits), rows, cols, col_offset, valid_cols,
        static_cast<Accum<T>>(weight), vocab_size, error);
  });
}

}  // namespace mtnlg::cuda::kernels
