#pragma once
// Fused causal attention (ops::flash_attention and its backward, FlashAttention-2's algorithm) for f32, f64,
// bf16 and f16 operands. q, k, v, out, dout, dq, dk, dv: (BH, T, d) contiguous in `dtype`; lse: (BH, T) in
// the accumulation type (f64 for f64, f32 otherwise). Arithmetic is in the accumulation type, except that the
// tensor-core kernels (bf16, f16) round the probabilities P and the score gradients dS to 16 bits for their
// products, as FlashAttention does. The backward pass is deterministic: every output element is summed in
// one place in a fixed order, with no atomics.
// Head sizes 1 ≤ d ≤ 128; another d throws std::invalid_argument before anything is queued.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda {

// The largest head size d the kernels take: a row's d features live in registers across 8 threads.
inline constexpr std::int64_t kFlashAttentionMaxHeadDim = 128;

// Which kernels run bf16 and f16 attention: tensor_cores (WMMA bf16/f16 products with f32 accumulation,
// flash_attention_tc_*.cu) or simt (the f32-arithmetic kernels every dtype can take). f32 and f64 always
// take simt, and so does a GPU with too little shared memory per block for a tensor-core kernel (sm_86/sm_89
// cards for head sizes above 64).
enum class FlashAttentionKernels { tensor_cores, simt };

// out and lse from q, k, v; s_ij = scale·q_i·k_j over keys j ≤ i.
void flash_attention_forward(DType dtype, const void* q, const void* k, const void* v, void* out, void* lse,
                             std::int64_t bh, std::int64_t t, std::int64_t d, double scale,
                             FlashAttentionKernels kernels, cudaStream_t stream);

// dq, dk, dv (overwritten) from the forward's inputs, out and lse, and dout. Two kernels: dk and dv per key
// tile, then dq per query tile, each recomputing the probabilities from lse.
void flash_attention_backward(DType dtype, const void* q, const void* k, const void* v, const void* out,
                              const void* lse, const void* dout, void* dq, void* dk, void* dv,
                              std::int64_t bh, std::int64_t t, std::int64_t d, double scale,
                              FlashAttentionKernels kernels, cudaStream_t stream);

}  // namespace mtnlg::cuda
