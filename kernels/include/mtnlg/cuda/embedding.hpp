#pragma once
// Token and position embeddings (ops::embedding, ops::embedding_backward): launchers for C++ callers. Raw
// device pointers, row-major and contiguous; the element type is `dtype` (f32, f64, bf16, f16); token ids are
// i32. Work is queued on `stream`; the caller checks cudaGetLastError() afterwards.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "mtnlg/cuda/kernel_types.hpp"
#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda::kernels {

// out[b, t, :] = table[tokens[b, t] − first_row, :] + positions[t, :]. tokens: (batch, seq); table:
// (rows, cols) holding rows [first_row, first_row + rows) of the full table (first_row = 0 when whole);
// positions: (≥ seq, cols) or null; out: (batch, seq, cols). A token outside the table's rows gives the
// position term alone (zero without positions). A token outside [0, valid_rows) is reported to `error`
// (token_out_of_range) and gets the same treatment.
void launch_embedding(DType dtype, const std::int32_t* tokens, const void* table, const void* positions,
                      void* out, std::int64_t batch, std::int64_t seq, std::int64_t rows, std::int64_t cols,
                      std::int64_t first_row, std::int64_t valid_rows, KernelError* error,
                      cudaStream_t stream);

// The device workspace launch_embedding_backward needs for `tokens` = batch·seq token ids and a (rows, C)
// dtable: the ids sorted by table row, their positions and the sort's temporary storage.
std::size_t embedding_backward_workspace_bytes(std::int64_t tokens, std::int64_t rows);

// dtable[tokens[p] − first_row, :] += dout[p, :] for the tokens p = b·seq + t inside the table's rows;
// dpositions[t, :] += Σ_b dout[b, t, :] when dpositions is not null. dout: (batch, seq, cols); dtable:
// (rows, cols), rows [first_row, first_row + rows) of the full table; dpositions: (≥ seq, cols). A token
// outside [0, token_limit) is reported to `error` (token_out_of_range) and adds nothing. Deterministic: the
// sums never depend on scheduling (see embedding.cu). batch·seq and rows must be below 2³¹ (the token sort
// indexes in 32 bits). `workspace` holds embedding_backward_workspace_bytes bytes, 256-byte aligned.
void launch_embedding_backward(DType dtype, const std::int32_t* tokens, const void* dout, void* dtable,
                               void* dpositions, std::int64_t batch, std::int64_t seq, std::int64_t rows,
                               std::int64_t cols, std::int64_t first_row, std::int64_t token_limit,
                               void* workspace, std::size_t workspace_bytes, KernelError* error,
                               cudaStream_t stream);

}  // namespace mtnlg::cuda::kernels
