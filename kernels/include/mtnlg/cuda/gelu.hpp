#pragma once
// GPT-2's tanh GeLU and its gradient: out[i] = gelu(x[i]); dx[i] = dy[i] · gelu'(x[i]). All (n) contiguous,
// floating dtypes; out may be x, dx may be dy.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_gelu(DType dtype, const void* x, void* out, std::int64_t n, cudaStream_t stream);
void launch_gelu_backward(DType dtype, const void* x, const void* dy, void* dx, std::int64_t n,
                          cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
