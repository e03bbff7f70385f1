#pragma once
// Inverted dropout (forward on x, backward on dy: the same mask and scale), as ops.hpp's DropoutArgs: x and
// out are (samples, n / samples) contiguous, floating dtypes; out may be x. Element (b, m) is kept when the
// Philox draw at `key`, counter {m', m' >> 32, s, s >> 32} (m' = m + element_offset, s = first_sample + b),
// is above p, and kept values are scaled by 1/(1 − p): the CPU backend's mask, bit for bit.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

// What decides the mask: ops::DropoutArgs without the tensors.
struct DropoutMask {
  double p = 0.0;  // in [0, 1)
  std::uint32_t key[2] = {0, 0};
  std::int64_t first_sample = 0;
  std::int64_t element_offset = 0;
};

void launch_dropout(DType dtype, const void* x, void* out, std::int64_t samples, std::int64_t n,
                    const DropoutMask& mask, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
