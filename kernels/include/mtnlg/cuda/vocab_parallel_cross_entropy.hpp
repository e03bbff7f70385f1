#pragma once
// Megatron's vocabulary-parallel cross-entropy pieces (ops::row_max, ops::cross_entropy_partial,
// ops::cross_entropy_from_parts, ops::cross_entropy_partial_backward): launchers for C++ callers. A rank's
// logits (rows, cols) are columns [col_offset, col_offset + cols) of the full logits, of which the local
// columns j < valid_cols are real vocabulary (valid_cols may be 0). Raw device pointers, contiguous; logits
// of element type `dtype` (f32, f64, bf16, f16), the per-row statistics (row_max, sum_exp, target_logit) of
// `stats_dtype`/`out_dtype` (`dtype`, or f32 for 16-bit logits), targets i32; arithmetic in f32 (f64 for
// f64). Work is queued on `stream`; the caller checks cudaGetLastError() afterwards.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/cuda/kernel_types.hpp"
#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

// out[i] = max_{j < valid_cols} x[i, j], −∞ when valid_cols = 0. x: (rows, cols); out: (rows).
void launch_row_max(DType dtype, DType out_dtype, const void* x, void* out, std::int64_t rows,
                    std::int64_t cols, std::int64_t valid_cols, cudaStream_t stream);

// sum_exp[i] = Σ_{j < valid_cols} exp(logits[i, j] − row_max[i]); target_logit[i] = logits[i, targets[i] −
// col_offset] when that column is local and valid, else 0. row_max, sum_exp, target_logit, targets: (rows).
// A negative target is reported to `error` (negative_target), one at or beyond vocab_size when that is > 0
// (the whole vocabulary) too (target_out_of_range); either counts as another slice's.
void launch_cross_entropy_partial(DType dtype, DType stats_dtype, const void* logits,
                                  const std::int32_t* targets, const void* row_max, void* sum_exp,
                                  void* target_logit, std::int64_t rows, std::int64_t cols,
                                  std::int64_t col_offset, std::int64_t valid_cols, std::int64_t vocab_size,
                                  KernelError* error, cudaStream_t stream);

// losses[i] = log(sum_exp[i]) + row_max[i] − target_logit[i]; all (rows); losses may be any input (in place).
void launch_cross_entropy_from_parts(DType dtype, const void* row_max, const void* sum_exp,
                                     const void* target_logit, void* losses, std::int64_t rows,
                                     cudaStream_t stream);

// dlogits[i, j] = weight · (exp(logits[i, j] − row_max[i]) / sum_exp[i] − [j + col_offset == targets[i]]) for
// j < valid_cols, 0 for the padding columns. dlogits: (rows, cols), may be logits (in place). Targets as for
// launch_cross_entropy_partial.
void launch_cross_entropy_partial_backward(DType dtype, DType stats_dtype, const void* logits,
                                           const std::int32_t* targets, const void* row_max,
                                           const void* sum_exp, void* dlogits, std::int64_t rows,
                                           std::int64_t cols, std::int64_t col_offset,
                                           std::int64_t valid_cols, double weight, std::int64_t vocab_size,
                                           KernelError* error, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
