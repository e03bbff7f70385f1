// flash_attention's forward kernel: one block per (tile of 32 queries, head). Each query row keeps its
// output accumulator, running maximum and running sum in registers (the online softmax) while the head's key
// and value rows stream through shared memory; key tiles past the block's last query are never loaded, and
// keys above the diagonal inside the last tile are masked. Nothing (T, T) is stored. The SIMT kernel of every
// dtype; the launcher hands bf16 and f16 to the tensor-core kernel (flash_attention_tc_forward.cu) unless the
// backend asks for SIMT or the GPU lacks the shared memory.
#include "flash_attention_tc.cuh"

namespace mtnlg::cuda {
namespace {

using namespace detail;
using namespace detail::flash;

template <class T, int DMAX>
__global__ void __launch_bounds__(kBlockThreads)
    flash_forward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                         T* __restrict__ out, Accum<T>* __restrict__ lse, int t_len, int d, int bh, int tiles,
                         Accum<T> scale) {
  using A = Accum<T>;
  constexpr int M = DMAX / kGroup, KT = kTileRows<A, DMAX>;
  __shared__ A k_tile[KT][DMAX];  // keys k0 .. k0 + KT
  __shared__ A v_tile[KT][DMAX];
  // The last query tiles see the most keys: they are scheduled first.
  const int tile = tiles - 1 - static_cast<int>(blockIdx.x / bh), head = static_cast<int>(blockIdx.x % bh);
  const std::int64_t base = static_cast<std::int64_t>(head) * t_len * d;  // (T, d) of this head
  const int r = threadIdx.x / kGroup, g = threadIdx.x % kGroup;
  const int q0 = tile * kRows, i = q0 + r;
  const bool active = i < t_len;

  A q_row[M], acc[M];
  load_row<DMAX>(q_row, q + base, i, active, d, g);
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = A(0);
  A row_max = minus_infinity<A>(), row_sum = A(0);

  const int key_end = min(t_len, q0 + kRows);  // keys beyond the tile's last query are never visible
  for (int k0 = 0; k0 < key_end; k0 += KT) {
    __syncthreads();  // everyone is done with the previous tile
    load_tile<KT, DMAX>(k_tile, k + base, k0, t_len, d);
    load_tile<KT, DMAX>(v_tile, v + base, k0, t_len, d);
    __syncthreads();

    A s[KT];  // this row's scores for the tile; −∞ above the diagonal
    A tile_max = minus_infinity<A>();
#pragma unroll
    for (int jj = 0; jj < KT; ++jj) {
      A part = A(0);
#pragma unroll
      for (int m = 0; m < M; ++m) part += q_row[m] * k_tile[jj][g + kGroup * m];
      part = group_sum(part) * scale;  // every lane of the group, masked or not, joins the shuffle
      s[jj] = k0 + jj <= i ? part : minus_infinity<A>();
      tile_max = larger(tile_max, s[jj]);
    }
    // Key 0 is in every row's first tile, so new_max is finite from the first tile on: the correction of an
    // empty row (row_max = −∞) is exp(−∞) = 0, and masked scores give exp(−∞) = 0.
    const A new_max = larger(row_max, tile_max);
    const A correction = exp_of(row_max - new_max);
    row_sum *= correction;
#pragma unroll
    for (int m = 0; m < M; ++m) acc[m] *= correction;
#pragma unroll
    for (int jj = 0; jj < KT; ++jj) {
      const A p = exp_of(s[jj] - new_max);
      row_sum += p;
#pragma unroll
      for (int m = 0; m < M; ++m) acc[m] += p * v_tile[jj][g + kGroup * m];
    }
    row_max = new_max;
  }

  if (active) {
    store_row<DMAX>(out + base, acc, A(1) / row_sum, i, d, g);
    if (g == 0) lse[static_cast<std::int64_t>(head) * t_len + i] = row_max + log_of(row_sum);
  }
}

}  // namespace

void flash_attention_forward(DType dtype, const void* q, const void* k, const void* v, void* out, void* lse,
                             std::int64_t bh, std::int64_t t, std::int64_t d, double scale,
                             FlashAttentionKernels kernels, cudaStream_t stream) {
  if (takes_tensor_cores(dtype, kernels) &&
      tc::tensor_core_forward(dtype, q, k, v, out, lse, bh, t, d, scale, stream))
    return;
  const Plan p = plan("flash_attention", bh, t, d);
  if (p.blocks == 0) return;
  dispatch_floating(dtype, "flash_attention", [&](auto tag) {
    using T = decltype(tag);
    using A = Accum<T>;
    dispatch_head_dim(d, [&](auto dmax) {
      flash_forward_kernel<T, decltype(dmax)::value><<<p.blocks, kBlockThreads, 0, stream>>>(
          static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(out),
          static_cast<A*>(lse), static_cast<int>(t), static_cast<int>(d), static_cast<int>(bh), p.tiles,
          static_cast<A>(scale));
    });
  });
}

}  // namespace mtnlg::cuda
