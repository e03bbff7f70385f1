#pragma once
// bias_add: out[r, c] = x[r, c] + bias[c]. x, out: (rows, cols) contiguous; bias: (cols); floating dtypes;
// out may be x.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_bias_add(DType dtype, const void* x, const void* bias, void* out, std::int64_t rows,
                     std::int64_t cols, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
