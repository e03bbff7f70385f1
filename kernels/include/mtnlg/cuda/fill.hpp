#pragma once
// fill: out[i] = value for i in [0, n). out: (n) contiguous, of any stored dtype (f32, f64, bf16, f16, i32,
// i64, u16); the value is rounded to the dtype once, on the host (integers: the caller checked it is exact).
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_fill(DType dtype, void* out, std::int64_t n, double value, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
