#pragma once
// squared_norm: out[0] = Σ_i x[i]². x: (n) contiguous; out: (1); floating dtypes. Summed in double in a fixed
// order that depends only on n: bitwise reproducible run to run.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_squared_norm(DType dtype, const void* x, void* out, std::int64_t n, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
