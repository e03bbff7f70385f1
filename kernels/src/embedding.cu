// Token and position embeddings (launchers: mtnlg/cuda/embedding.hpp). Shapes: tokens (B, T) i32; table and
// dtable (rows, C), a slice [first_row, first_row + rows) of the full table (first_row = 0 when whole);
// positions and dpositions (≥ T, C); out and dout (B, T, C). Position p = b·T + t is a flat token index.
//
// Forward: a gather, one thread per output element.
//
// Backward, deterministic without floating-point atomics (bitwise identical run to run):
//   1. every position p gets the key "its local table row" (or `rows`, a sentinel sorting last, for a token
//      outside the slice or outside the vocabulary) and the value p;
//   2. a stable radix sort (CUB) of (key, p) makes the positions of each table row one contiguous run, in
//      increasing p;
//   3. per run and column one thread sums the run's gradients in that order, in f32 (f64 for f64), and adds
//      the sum to its dtable element once.
// Each dtable element is written by exactly one thread, which adds a fixed sequence in a fixed order, so no
// result depends on scheduling. dpositions: one thread per (t, c) element sums b = 0 .. B − 1 in order.
#include <cub/device/device_radix_sort.cuh>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common.cuh"
#include "mtnlg/cuda/embedding.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using detail::Accum;
using detail::from_accum;
using detail::kThreads;
using detail::report_error;
using detail::to_accum;

constexpr std::int64_t kMaxGridX = 2147483647, kMaxGridY = 65535;

// Blocks along one grid dimension for `n` items of `per_block` each: at least 1, at most `cap` (the kernels
// loop over the rest).
unsigned blocks_for(std::int64_t n, std::int64_t per_block, std::int64_t cap) {
  const std::int64_t blocks = (n + per_block - 1) / per_block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

// Grid: x over positions (one block each), y over column chunks of blockDim.x.
template <class T>
__global__ void embedding_kernel(const std::int32_t* tokens, const T* table, const T* positions, T* out,
                                 std::int64_t n, std::int64_t seq, std::int64_t rows, std::int64_t cols,
                                 std::int64_t first_row, std::int64_t valid_rows, KernelError* error) {
  const std::int64_t column_stride = static_cast<std::int64_t>(gridDim.y) * blockDim.x;
  for (std::int64_t p = blockIdx.x; p < n; p += gridDim.x) {
    const std::int64_t id = tokens[p];
    const bool in_vocabulary = id >= 0 && id < valid_rows;
    if (!in_vocabulary && blockIdx.y == 0 && threadIdx.x == 0)
      report_error(error, KernelErrorCode::token_out_of_range, p, id, valid_rows);
    // Another slice's row (or a bad id): no table term; never read outside the table.
    const std::int64_t local = id - first_row;
    const T* row = in_vocabulary && local >= 0 && local < rows ? table + local * cols : nullptr;
    const T* position = positions != nullptr ? positions + (p % seq) * cols : nullptr;
    T* dst = out + p * cols;
    for (std::int64_t j = static_cast<std::int64_t>(blockIdx.y) * blockDim.x + threadIdx.x; j < cols;
         j += column_stride) {
      Accum<T> value = row != nullptr ? to_accum(row[j]) : Accum<T>(0);
      if (position != nullptr) value += to_accum(position[j]);
      dst[j] = from_accum<T>(value);
    }
  }
}

// Step 1: keys[p] = the local table row of token p, or `rows` (the sentinel) when it lies outside the slice
// or outside [0, token_limit) (reported); order[p] = p.
__global__ void key_positions_kernel(const std::int32_t* tokens, std::uint32_t* keys, std::uint32_t* order,
                                     std::int64_t n, std::int64_t rows, std::int64_t first_row,
                                     std::int64_t token_limit, KernelError* error) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < n;
       p += stride) {
    const std::int64_t id = tokens[p], local = id - first_row;
    std::int64_t key = rows;
    if (id < 0 || id >= token_limit)
      report_error(error, KernelErrorCode::token_out_of_range, p, id, token_limit);
    else if (local >= 0 && local < rows)
      key = local;
    keys[p] = static_cast<std::uint32_t>(key);
    order[p] = static_cast<std::uint32_t>(p);
  }
}

// Step 3. sorted_keys, sorted_positions: (n), the sort's output. Grid: x over sorted indices k (one block
// each), y over column chunks. The block of a run's first index owns that table row: each of its threads sums
// one column over the run, in the run's order (increasing position).
template <class T>
__global__ void accumulate_rows_kernel(const std::uint32_t* sorted_keys,
                                       const std::uint32_t* sorted_positions, const T* dout, T* dtable,
                                       std::int64_t n, std::int64_t rows, std::int64_t cols) {
  const std::int64_t column_stride = static_cast<std::int64_t>(gridDim.y) * blockDim.x;
  for (std::int64_t k = blockIdx.x; k < n; k += gridDim.x) {
    const std::int64_t key = sorted_keys[k];
    if (key >= rows || (k > 0 && sorted_keys[k - 1] == key)) continue;  // the sentinel, or inside a run
    // The run is [k, end): the keys are sorted, so end is the first index past k with a larger key.
    std::int64_t lo = k + 1, hi = n;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (sorted_keys[mid] == key)
        lo = mid + 1;
      else
        hi = mid;
    }
    const std::int64_t end = lo;
    for (std::int64_t j = static_cast<std::int64_t>(blockIdx.y) * blockDim.x + threadIdx.x; j < cols;
         j += column_stride) {
      Accum<T> sum = 0;
      for (std::int64_t m = k; m < end; ++m)
        sum += to_accum(dout[static_cast<std::int64_t>(sorted_positions[m]) * cols + j]);
      T* dst = dtable + key * cols + j;
      *dst = from_accum<T>(to_accum(*dst) + sum);
    }
  }
}

// dpositions[t, c] += Σ_b dout[b, t, c], b in increasing order; one thread per (t, c) of the first T rows.
template <class T>
__global__ void sum_positions_kernel(const T* dout, T* dpositions, std::int64_t batch, std::int64_t seq,
                                     std::int64_t cols) {
  const std::int64_t per_sample = seq * cols;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < per_sample;
       i += stride) {
    Accum<T> sum = 0;
    for (std::int64_t b = 0; b < batch; ++b) sum += to_accum(dout[b * per_sample + i]);
    dpositions[i] = from_accum<T>(to_accum(dpositions[i]) + sum);
  }
}

// The sort's bits: keys lie in [0, rows], the sentinel included; sorting only the bits that can be set saves
// radix passes.
int key_bits(std::int64_t rows) {
  int bits = 1;
  while (bits < 32 && (std::int64_t{1} << bits) <= rows) ++bits;
  return bits;
}

// The workspace, carved in 256-byte aligned pieces: CUB's temporary storage first, then four (n) arrays.
constexpr std::size_t kAlignment = 256;
std::size_t aligned(std::size_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

std::size_t sort_storage_bytes(std::int64_t n, int bits) {
  std::size_t bytes = 0;
  const cudaError_t status = cub::DeviceRadixSort::SortPairs(
      nullptr, bytes, static_cast<const std::uint32_t*>(nullptr), static_cast<std::uint32_t*>(nullptr),
      static_cast<const std::uint32_t*>(nullptr), static_cast<std::uint32_t*>(nullptr), static_cast<int>(n),
      0, bits);
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("embedding_backward: sizing the token sort failed: ") +
                             cudaGetErrorString(status));
  return bytes;
}

struct Workspace {
  void* sort_storage;
  std::size_t sort_storage_bytes;
  std::uint32_t *keys, *order, *sorted_keys, *sorted_positions;  // (n) each
};

Workspace carve_workspace(void* workspace, std::size_t workspace_bytes, std::int64_t n, std::int64_t rows) {
  const std::size_t sort_bytes = sort_storage_bytes(n, key_bits(rows));
  const std::size_t array_bytes = aligned(static_cast<std::size_t>(n) * sizeof(std::uint32_t));
  if (workspace_bytes < aligned(sort_bytes) + 4 * array_bytes)
    throw std::invalid_argument("embedding_backward: the workspace holds " + std::to_string(workspace_bytes) +
                                " bytes but " + std::to_string(aligned(sort_bytes) + 4 * array_bytes) +
                                " are needed (embedding_backward_workspace_bytes)");
  auto* base = static_cast<unsigned char*>(workspace);
  auto array = [&](int i) {
    return reinterpret_cast<std::uint32_t*>(base + aligned(sort_bytes) +
                                            static_cast<std::size_t>(i) * array_bytes);
  };
  return {workspace, sort_bytes, array(0), array(1), array(2), array(3)};
}

}  // namespace

void launch_embedding(DType dtype, const std::int32_t* tokens, const void* table, const void* positions,
                      void* out, std::int64_t batch, std::int64_t seq, std::int64_t rows, std::int64_t cols,
                      std::int64_t first_row, std::int64_t valid_rows, KernelError* error,
                      cudaStream_t stream) {
  const std::int64_t n = batch * seq;
  if (n == 0) return;
  detail::dispatch_floating(dtype, "embedding", [&](auto tag) {
    using T = decltype(tag);
    const dim3 grid(blocks_for(n, 1, kMaxGridX), blocks_for(cols, kThreads, kMaxGridY));
    embedding_kernel<T><<<grid, kThreads, 0, stream>>>(tokens, static_cast<const T*>(table),
                                                       static_cast<const T*>(positions), static_cast<T*>(out),
                                                       n, seq, rows, cols, first_row, valid_rows, error);
  });
}

std::size_t embedding_backward_workspace_bytes(std::int64_t tokens, std::int64_t rows) {
  return aligned(sort_storage_bytes(tokens, key_bits(rows))) +
         4 * aligned(static_cast<std::size_t>(tokens) * sizeof(std::uint32_t));
}

void launch_embedding_backward(DType dtype, const std::int32_t* tokens, const void* dout, void* dtable,
                               void* dpositions, std::int64_t batch, std::int64_t seq, std::int64_t rows,
                               std::int64_t cols, std::int64_t first_row, std::int64_t token_limit,
                               void* workspace, std::size_t workspace_bytes, KernelError* error,
                               cudaStream_t stream) {
  const std::int64_t n = batch * seq;
  if (n == 0) return;
  detail::dispatch_floating(dtype, "embedding_backward", [&](auto tag) {
    using T = decltype(tag);
    const Workspace ws = carve_workspace(workspace, workspace_bytes, n, rows);
    key_positions_kernel<<<detail::grid_for(n), kThreads, 0, stream>>>(tokens, ws.keys, ws.order, n, rows,
                                                                       first_row, token_limit, error);
    if (rows > 0 && cols > 0) {
      std::size_t sort_bytes = ws.sort_storage_bytes;
      const cudaError_t status = cub::DeviceRadixSort::SortPairs(
          ws.sort_storage, sort_bytes, static_cast<const std::uint32_t*>(ws.keys), ws.sorted_keys,
          static_cast<const std::uint32_t*>(ws.order), ws.sorted_positions, static_cast<int>(n), 0,
          key_bits(rows), stream);
      if (status != cudaSuccess)
        throw std::runtime_error(std::string("embedding_backward: sorting the tokens failed: ") +
                                 cudaGetErrorString(status));
      const dim3 grid(blocks_for(n, 1, kMaxGridX), blocks_for(cols, kThreads, kMaxGridY));
      accumulate_rows_kernel<T><<<grid, kThreads, 0, stream>>>(ws.sorted_keys, ws.sorted_positions,
                                                               static_cast<const T*>(dout),
                                                               static_cast<T*>(dtable), n, rows, cols);
    }
    if (dpositions != nullptr)
      sum_positions_kernel<T><<<detail::grid_for(seq * cols), kThreads, 0, stream>>>(
          static_cast<const T*>(dout), static_cast<T*>(dpositions), batch, seq, cols);
  });
}

}  // namespace mtnlg::cuda::kernels
