#pragma once
// axpy: y[i] += alpha · x[i]; scale: x[i] *= alpha. x, y: (n) contiguous, floating dtypes; y may be x.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_axpy(DType dtype, double alpha, const void* x, void* y, std::int64_t n, cudaStream_t stream);
void launch_scale(DType dtype, double alpha, void* x, std::int64_t n, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
