#pragma once
// Types shared by the kernels' launchers and their C++ callers (the CUDA backend plugin). Launchers take the
// SDK's DType and raw device pointers, dispatch to a template on the element type themselves, and queue work
// on the given stream without checking for errors: the caller checks cudaGetLastError() after each launch.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda {

// A data-dependent error found by a kernel (a token id outside the vocabulary), kept in device memory and
// read by the backend at its next synchronize(), which turns it into an mtnlg::Error. The first kernel to
// report wins; the rest of the step's work still runs (as on the CPU backend, nothing is rolled back).
enum class KernelErrorCode : std::int32_t {
  none = 0,
  token_out_of_range = 1,   // embedding: tokens[row] = value is outside [0, limit)
  target_out_of_range = 2,  // cross_entropy: targets[row] = value is outside [0, limit)
  negative_target = 3,      // vocabulary-parallel cross-entropy: targets[row] = value < 0
};

struct KernelError {
  std::int32_t code = 0;  // a KernelErrorCode
  std::int32_t unused = 0;
  std::int64_t row = 0;    // the flat row of the offending element (b·T + t for tokens)
  std::int64_t value = 0;  // the offending value
  std::int64_t limit = 0;  // the bound it broke
};

// A strided view of up to kMaxDims dimensions, passed to kernels by value (copy).
inline constexpr int kMaxDims = 8;
struct StridedLayout {
  int ndim = 0;
  std::int64_t shape[kMaxDims] = {};
  std::int64_t strides[kMaxDims] = {};  // in elements
};

}  // namespace mtnlg::cuda
