#pragma once
// Causal softmax over attention scores (ops::causal_softmax, ops::causal_softmax_backward): launchers for C++
// callers. Raw device pointers to contiguous (BH, T, T) tensors of element type `dtype` (f32, f64, bf16,
// f16); arithmetic in f32 (f64 for f64). Work is queued on `stream`; the caller checks cudaGetLastError().
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

// probs[h, i, j] = softmax_{j ≤ i}(scale·scores[h, i, j]) for j ≤ i, 0 above the diagonal; heads = BH,
// seq = T. probs may be scores (in place).
void launch_causal_softmax(DType dtype, const void* scores, void* probs, std::int64_t heads, std::int64_t seq,
                           double scale, cudaStream_t stream);

// dscores = scale · probs ⊙ (dprobs − Σ_{j ≤ i} dprobs⊙probs), 0 above the diagonal. dscores may be dprobs.
void launch_causal_softmax_backward(DType dtype, const void* probs, const void* dprobs, void* dscores,
                                    std::int64_t heads, std::int64_t seq, double scale, cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
