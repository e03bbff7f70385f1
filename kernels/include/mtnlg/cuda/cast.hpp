#pragma once
// cast: dst[i] = src[i] converted from src_dtype to dst_dtype, each any of f32, f64, bf16, f16, rounded once
// to nearest, ties to even. src, dst: (n) contiguous, not overlapping.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_cast(DType src_dtype, const void* src, DType dst_dtype, void* dst, std::int64_t n,
                 cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
