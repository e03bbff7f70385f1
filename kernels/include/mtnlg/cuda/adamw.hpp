#pragma once
// One AdamW step, as ops.hpp's AdamWArgs: param, grad, m, v are (n) contiguous, of one floating dtype (m and
// v in the param's dtype), and pairwise disjoint. Math in f32 for f32/bf16/f16, f64 for f64.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

struct AdamWHyperparams {
  double lr = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  std::int64_t step = 1;  // 1-based, for the bias correction
};

void launch_adamw(DType dtype, void* param, const void* grad, void* m, void* v, std::int64_t n,
                  const AdamWHyperparams& hyper, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
