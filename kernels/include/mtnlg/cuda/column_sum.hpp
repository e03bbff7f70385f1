#pragma once
// column_sum: out[c] = beta · out[c] + Σ_r x[r, c] (beta = 0: out is not read). x: (rows, cols) contiguous;
// out: (cols); floating dtypes. Summed in double in a fixed order that depends only on (rows, cols): bitwise
// reproducible run to run.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_column_sum(DType dtype, const void* x, void* out, std::int64_t rows, std::int64_t cols,
                       double beta, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
