// flash_attention_backward (FlashAttention-2): the probabilities are recomputed from the forward's lse,
// P_ij = exp(s_ij − lse_i), and dS_ij = P_ij·(dout_i·v_j − D_i) with D_i = dout_i·out_i. Deterministic
// without atomics: two kernels, each output row owned by one row group and summed in a fixed order.
//   dkdv: one block per (tile of 32 keys, head); query tiles from the diagonal on stream through shared
//         memory (q, dout, lse, D); dv_j += P_ij·dout_i, dk_j += dS_ij·q_i.
//   dq:   one block per (tile of 32 queries, head); key tiles up to the diagonal stream through shared memory
//         (k, v); dq_i += dS_ij·k_j.
// Both recompute s and dout·v; the price of not summing dq across key tiles with atomics. The SIMT kernels of
// every dtype; the launcher hands bf16 and f16 to the tensor-core kernels (flash_attention_tc_backward.cu)
// unless the backend asks for SIMT or the GPU lacks the shared memory.
#include "flash_attention_tc.cuh"

namespace mtnlg::cuda {
namespace {

using namespace detail;
using namespace detail::flash;

template <class T, int DMAX>
__global__ void __launch_bounds__(kBlockThreads)
    flash_backward_dkdv_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                               const T* __restrict__ out, const Accum<T>* __restrict__ lse,
                               const T* __restrict__ dout, T* __restrict__ dk, T* __restrict__ dv, int t_len,
                               int d, int bh, Accum<T> scale) {
  using A = Accum<T>;
  constexpr int M = DMAX / kGroup, QT = kTileRows<A, DMAX>;
  __shared__ A q_tile[QT][DMAX];  // queries i0 .. i0 + QT
  __shared__ A dout_tile[QT][DMAX];
  __shared__ A lse_tile[QT];
  __shared__ A delta_tile[QT];  // D_i
  // The first key tiles are seen by the most queries: they are scheduled first.
  const int tile = static_cast<int>(blockIdx.x / bh), head = static_cast<int>(blockIdx.x % bh);
  const std::int64_t base = static_cast<std::int64_t>(head) * t_len * d;  // (T, d) of this head
  const int r = threadIdx.x / kGroup, g = threadIdx.x % kGroup;
  const int k0 = tile * kRows, j = k0 + r;
  const bool active = j < t_len;

  A k_row[M], v_row[M], dk_acc[M], dv_acc[M];
  load_row<DMAX>(k_row, k + base, j, active, d, g);
  load_row<DMAX>(v_row, v + base, j, active, d, g);
#pragma unroll
  for (int m = 0; m < M; ++m) dk_acc[m] = dv_acc[m] = A(0);

  // Queries before k0 see none of the tile's keys.
  for (int i0 = k0; i0 < t_len; i0 += QT) {
    __syncthreads();  // everyone is done with the previous tile
    load_tile<QT, DMAX>(q_tile, q + base, i0, t_len, d);
    load_tile<QT, DMAX>(dout_tile, dout + base, i0, t_len, d);
    if (static_cast<int>(threadIdx.x) < QT) {
      const int i = i0 + static_cast<int>(threadIdx.x);
      lse_tile[threadIdx.x] = i < t_len ? lse[static_cast<std::int64_t>(head) * t_len + i] : A(0);
    }
    __syncthreads();
    // D_i for the tile's queries, row group r for query i0 + r. QT is 16 or 32 and a warp holds 4 groups,
    // so the branch is uniform across each warp, as the shuffles need.
    if (r < QT) {
      const int i = i0 + r;
      A part = A(0);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int c = g + kGroup * m;
        if (i < t_len && c < d)
          part += dout_tile[r][c] * to_accum(out[base + static_cast<std::int64_t>(i) * d + c]);
      }
      part = group_sum(part);
      if (g == 0) delta_tile[r] = part;
    }
    __syncthreads();

    for (int ii = 0; ii < QT; ++ii) {
      const int i = i0 + ii;
      A s = A(0), dp = A(0);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int c = g + kGroup * m;
        s += q_tile[ii][c] * k_row[m];
        dp += dout_tile[ii][c] * v_row[m];
      }
      s = group_sum(s);
      dp = group_sum(dp);
      const A p = j <= i && i < t_len ? exp_of(s * scale - lse_tile[ii]) : A(0);
      const A ds = p * (dp - delta_tile[ii]);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int c = g + kGroup * m;
        dv_acc[m] += p * dout_tile[ii][c];
        dk_acc[m] += ds * q_tile[ii][c];
      }
    }
  }

  if (active) {
    store_row<DMAX>(dk + base, dk_acc, scale, j, d, g);
    store_row<DMAX>(dv + base, dv_acc, A(1), j, d, g);
  }
}

template <class T, int DMAX>
__global__ void __launch_bounds__(kBlockThreads)
    flash_backward_dq_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                             const T* __restrict__ out, const Accum<T>* __restrict__ lse,
                             const T* __restrict__ dout, T* __restrict__ dq, int t_len, int d, int bh,
                             int tiles, Accum<T> scale) {
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

  A q_row[M], dout_row[M], acc[M];
  load_row<DMAX>(q_row, q + base, i, active, d, g);
  load_row<DMAX>(dout_row, dout + base, i, active, d, g);
  A delta = A(0);  // D_i = dout_i·out_i
  {
    A out_row[M];
    load_row<DMAX>(out_row, out + base, i, active, d, g);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      delta += dout_row[m] * out_row[m];
      acc[m] = A(0);
    }
  }
  delta = group_sum(delta);
  const A row_lse = active ? lse[static_cast<std::int64_t>(head) * t_len + i] : A(0);

  const int key_end = min(t_len, q0 + kRows);  // keys beyond the tile's last query are never visible
  for (int k0 = 0; k0 < key_end; k0 += KT) {
    __syncthreads();
    load_tile<KT, DMAX>(k_tile, k + base, k0, t_len, d);
    load_tile<KT, DMAX>(v_tile, v + base, k0, t_len, d);
    __syncthreads();
    for (int jj = 0; jj < KT; ++jj) {
      A s = A(0), dp = A(0);
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const int c = g + kGroup * m;
        s += q_row[m] * k_tile[jj][c];
        dp += dout_row[m] * v_tile[jj][c];
      }
      s = group_sum(s);
      dp = group_sum(dp);
      const A p = active && k0 + jj <= i ? exp_of(s * scale - row_lse) : A(0);
      const A ds = p * (dp - delta);
#pragma unroll
      for (int m = 0; m < M; ++m) acc[m] += ds * k_tile[jj][g + kGroup * m];
    }
  }

  if (active) store_row<DMAX>(dq + base, acc, scale, i, d, g);
}

}  // namespace

void flash_attention_backward(DType dtype, const void* q, const void* k, const void* v, const void* out,
                              const void* lse, const void* dout, void* dq, void* dk, void* dv,
                              std::int64_t bh, std::int64_t t, std::int64_t d, double scale,
                              FlashAttentionKernels kernels, cudaStream_t stream) {
  if (takes_tensor_cores(dtype, kernels) &&
      tc::tensor_core_backward(dtype, q, k, v, out, lse, dout, dq, dk, dv, bh, t, d, scale, stream))
    return;
  const Plan p = plan("flash_attention_backward", bh, t, d);
  if (p.blocks == 0) return;
  dispatch_floating(dtype, "flash_attention_backward", [&](auto tag) {
    using T = decltype(tag);
    using A = Accum<T>;
    dispatch_head_dim(d, [&](auto dmax) {
      constexpr int kDmax = decltype(dmax)::value;
      const T *tq = static_cast<const T*>(q), *tk = static_cast<const T*>(k), *tv = static_cast<const T*>(v),
              *tout = static_cast<const T*>(out), *tdout = static_cast<const T*>(dout);
      const A* tlse = static_cast<const A*>(lse);
      flash_backward_dkdv_kernel<T, kDmax><<<p.blocks, kBlockThreads, 0, stream>>>(
          tq, tk, tv, tout, tlse, tdout, static_cast<T*>(dk), static_cast<T*>(dv), static_cast<int>(t),
          static_cast<int>(d), static_cast<int>(bh), static_cast<A>(scale));
      flash_backward_dq_kernel<T, kDmax><<<p.blocks, kBlockThreads, 0, stream>>>(
          tq, tk, tv, tout, tlse, tdout, static_cast<T*>(dq), static_cast<int>(t), static_cast<int>(d),
          static_cast<int>(bh), p.tiles, static_cast<A>(scale));
    });
  });
}

}  // namespace mtnlg::cuda
