#pragma once
// Cross-entropy of logits against target tokens (ops::cross_entropy, ops::cross_entropy_backward): launchers
// for C++ callers. Raw device pointers, contiguous; logits and outputs of element type `dtype` (f32, f64,
// bf16, f16), targets i32; arithmetic in f32 (f64 for f64). Work is queued on `stream`; the caller checks
// cudaGetLastError() afterwards.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/cuda/kernel_types.hpp"
#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

// losses[i] = log Σ_{j < valid_cols} exp(logits[i, j]) − logits[i, targets[i]]. logits: (rows, cols), columns
// at or beyond valid_cols are padding (−∞); targets, losses: (rows). A target outside [0, valid_cols) is
// reported to `error` (target_out_of_range) and its row's loss is the log-sum-exp alone. losses_dtype:
// `dtype`, or f32 for 16-bit logits.
void launch_cross_entropy(DType dtype, DType losses_dtype, const void* logits, const std::int32_t* targets,
                          void* losses, std::int64_t rows, std::int64_t cols, std::int64_t valid_cols,
                          KernelError* error, cudaStream_t stream);

// dlogits[i, j] = weight · (softmax(logits[i, :valid_cols])_j − [j == targets[i]]) for j < valid_cols, 0 for
// the padding columns. dlogits may be logits (in place). Targets as for launch_cross_entropy (an invalid one
// subtracts nothing).
void launch_cross_entropy_backward(DType dtype, const void* logits, const std::int32_t* targets,
                                   void* dlogits, std::int64_t rows, std::int64_t cols,
                                   std::int64_t valid_cols, double weight, KernelError* error,
                                   cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
