#pragma once
// copy: dst = src elementwise over one shape (dst_layout.shape, equal to src_layout.shape) with any strides
// on either side, of any stored dtype. src and dst must not overlap unless they are the very same view (a
// no-op).
#include <cuda_runtime_api.h>

#include "mtnlg/cuda/kernel_types.hpp"
#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

void launch_copy(DType dtype, const void* src, StridedLayout src_layout, void* dst, StridedLayout dst_layout,
                 cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
