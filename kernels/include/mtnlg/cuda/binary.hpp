#pragma once
// add: out[i] = a[i] + b[i]; mul: out[i] = a[i] · b[i]. a, b, out: (n) contiguous, floating dtypes; out may
// be a or b.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_add(DType dtype, const void* a, const void* b, void* out, std::int64_t n, cudaStream_t stream);
void launch_mul(DType dtype, const void* a, const void* b, void* out, std::int64_t n, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
