#pragma once
// LayerNorm over the last dimension (ops::layernorm, ops::layernorm_backward): launchers for C++ callers. Raw
// device pointers, row-major and contiguous, all of element type `dtype` (f32, f64, bf16, f16); arithmetic in
// f32 (f64 for f64). Work is queued on `stream`; the caller checks cudaGetLastError() afterwards.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

// Per row of x (rows, cols): mean, rstd = 1/sqrt(biased variance + eps), out = (x − mean)·rstd·gamma + beta.
// gamma, beta: (cols); out: (rows, cols); mean, rstd: (rows).
void launch_layernorm(DType dtype, const void* x, const void* gamma, const void* beta, void* out, void* mean,
                      void* rstd, std::int64_t rows, std::int64_t cols, double eps, cudaStream_t stream);

// The dtype of layernorm_backward's partial sums: f64 for f64, f32 otherwise.
inline DType layernorm_backward_scratch_dtype(DType dtype) {
  return dtype == DType::f64 ? DType::f64 : DType::f32;
}
// Elements of layernorm_backward_scratch_dtype the backward pass of a (rows, cols) input needs.
std::int64_t layernorm_backward_scratch_elements(std::int64_t rows, std::int64_t cols);

// dx (rows, cols) = ∂L/∂x, overwritten; dgamma, dbeta (cols) += Σ_rows dy·x̂ and Σ_rows dy, deterministically
// (fixed row blocks, combined in block order). dy, x: (rows, cols); gamma: (cols); mean, rstd: (rows), the
// forward's. `scratch`: layernorm_backward_scratch_elements(rows, cols) of layernorm_backward_scratch_dtype.
void launch_layernorm_backward(DType dtype, const void* dy, const void* x, const void* gamma,
                               const void* mean, const void* rstd, void* dx, void* dgamma, void* dbeta,
                               void* scratch, std::int64_t rows, std::int64_t cols, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
