// flash_attention's forward on tensor cores (bf16, f16): one block of 4 warps per (tile of 64 queries, head);
// warp w keeps the Q fragments of queries 16w .. 16w + 15 in registers for the whole pass. Per 64-key tile:
//   S = Q·Kᵀ (16, 64) on tensor cores into the warp's f32 scratch;
//   the online softmax in f32 (base 2), lanes 2r and 2r + 1 sharing row r: running maximum m and sum l;
//   P = exp2(S·scale·log2 e − m) rounded to T, as FlashAttention does, then P·V (16, D) on tensor cores;
//   O = O·exp2(m_old − m) + P·V in f32 registers, lane l holding features l, l + 32, ... of all 16 rows.
// Key tiles past the block's last query are never loaded (key and query tiles are both 64 rows, so the last
// key tile is the diagonal one, which every warp needs).
// Nothing (T, T) is stored; lse = (m + log2 l)·ln 2.
#include "flash_attention_tc.cuh"

namespace mtnlg::cuda {
namespace detail::flash::tc {
namespace {

// Floats of a warp's f32 scratch: the (16, 64) scores, later the (16, D) P·V.
template <int D>
inline constexpr int kForwardScratch = (D + 4 > kScoreLd ? D + 4 : kScoreLd) * kWarpRows;

// Shared memory of the forward kernel, in bytes: the K and V tiles, then per warp its scratch, its 16-bit
// (16, 64) P, and two f32 rows of 16 (the rescale factors, then 1/l).
template <int D>
constexpr std::size_t forward_shared_bytes() {
  return 2 * kTile * kTileLd<D> * 2 +
         kWarps * (kForwardScratch<D> * 4 + kWarpRows * kProbLd * 2 + 2 * kWarpRows * 4);
}

// Pointers into the forward kernel's shared memory, in the order forward_shared_bytes counts them.
template <class T, int D>
struct ForwardShared {
  T* k_tile;  // (64, D), stride kTileLd<D>; also Q's staging at the start
  T* v_tile;
  float* scratch;  // this warp's
  T* prob;         // this warp's (16, 64), stride kProbLd
  float* corr;     // this warp's (16) rescale factors of the current tile
  float* inv_sum;  // this warp's (16) 1/l at the end

  __device__ explicit ForwardShared(unsigned char* shared) {
    const int warp = threadIdx.x / 32;
    k_tile = reinterpret_cast<T*>(shared);
    v_tile = k_tile + kTile * kTileLd<D>;
    float* scratches = reinterpret_cast<float*>(v_tile + kTile * kTileLd<D>);
    scratch = scratches + warp * kForwardScratch<D>;
    T* probs = reinterpret_cast<T*>(scratches + kWarps * kForwardScratch<D>);
    prob = probs + warp * kWarpRows * kProbLd;
    corr = reinterpret_cast<float*>(probs + kWarps * kWarpRows * kProbLd) + warp * 2 * kWarpRows;
    inv_sum = corr + kWarpRows;
  }
};

template <class T, int D>
__global__ void __launch_bounds__(kThreads)
    tc_forward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                      T* __restrict__ out, float* __restrict__ lse, int t_len, int d, int bh, int tiles,
                      float scale_log2, bool wide) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kLd = kTileLd<D>, kOutLd = D + 4, kCols = D / 32;
  extern __shared__ __align__(128) unsigned char shared[];
  const ForwardShared<T, D> sh(shared);
  T *k_tile = sh.k_tile, *v_tile = sh.v_tile, *p_tile = sh.prob;
  float *scratch = sh.scratch, *corr = sh.corr, *inv_sum = sh.inv_sum;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  // The last query tiles see the most keys: they are scheduled first.
  const int tile = tiles - 1 - static_cast<int>(blockIdx.x / bh), head = static_cast<int>(blockIdx.x % bh);
  const std::int64_t base = static_cast<std::int64_t>(head) * t_len * d;  // (T, d) of this head
  const int q0 = tile * kBlockRows, warp_q0 = q0 + warp * kWarpRows;

  // This warp's queries as A fragments, staged through the K tile's memory.
  stage_tile<kBlockRows, D>(k_tile, q + base, q0, t_len, d, wide);
  __syncthreads();
  FragA<T> q_frag[D / 16];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk)
    wmma::load_matrix_sync(q_frag[kk], k_tile + warp * kWarpRows * kLd + kk * 16, kLd);

  // Softmax lanes: row r = lane / 2 of the warp, columns half, half + 2, ... of each score tile.
  const int r = lane / 2, half = lane % 2, i = warp_q0 + r;
  float row_max = -INFINITY, row_sum = 0.0f;
  float o[kWarpRows][kCols];  // O rows 0..15, features lane + 32·c
#pragma unroll
  for (int rr = 0; rr < kWarpRows; ++rr)
#pragma unroll
    for (int c = 0; c < kCols; ++c) o[rr][c] = 0.0f;

  const int key_end = min(t_len, q0 + kBlockRows);  // keys beyond the tile's last query are never visible
  for (int k0 = 0; k0 < key_end; k0 += kTile) {
    __syncthreads();  // everyone is done with the previous tiles (and with Q's staging)
    stage_tile<kTile, D>(k_tile, k + base, k0, t_len, d, wide);
    stage_tile<kTile, D>(v_tile, v + base, k0, t_len, d, wide);
    __syncthreads();

    // S = Q·Kᵀ: (16, 64) f32.
#pragma unroll
    for (int n = 0; n < kTile / 16; ++n) {
      FragC acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        FragBTransposed<T> kf;
        wmma::load_matrix_sync(kf, k_tile + n * 16 * kLd + kk * 16, kLd);
        wmma::mma_sync(acc, q_frag[kk], kf, acc);
      }
      wmma::store_matrix_sync(scratch + n * 16, acc, kScoreLd, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax of row r, in base 2: scores of keys after i (or past T) are −∞.
    float s[kTile / 2];
    float tile_max = -INFINITY;
#pragma unroll
    for (int j = 0; j < kTile / 2; ++j) {
      const int c = half + 2 * j, key = k0 + c;
      s[j] = key <= i && key < t_len ? scratch[r * kScoreLd + c] * scale_log2 : -INFINITY;
      tile_max = fmaxf(tile_max, s[j]);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    // Key 0 is in every row's first tile, so new_max is finite from the first tile on: the first correction
    // is exp2(−∞) = 0, and masked scores give exp2(−∞) = 0.
    const float new_max = fmaxf(row_max, tile_max), correction = exp2f(row_max - new_max);
    float part = 0.0f;
#pragma unroll
    for (int j = 0; j < kTile / 2; ++j) {
      const float p = exp2f(s[j] - new_max);
      part += p;
      p_tile[r * kProbLd + half + 2 * j] = from_accum<T>(p);
    }
    part += __shfl_xor_sync(0xffffffffu, part, 1);
    row_sum = row_sum * correction + part;
    row_max = new_max;
    if (half == 0) corr[r] = correction;
    __syncwarp();  // P and corr written; every lane is done reading S from scratch

    // P·V: (16, D) f32 into scratch, then O = O·correction + P·V. P's fragments are loaded once for all D/16
    // column blocks.
    FragA<T> pf[kTile / 16];
#pragma unroll
    for (int kk = 0; kk < kTile / 16; ++kk) wmma::load_matrix_sync(pf[kk], p_tile + kk * 16, kProbLd);
#pragma unroll
    for (int n = 0; n < D / 16; ++n) {
      FragC acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {
        FragB<T> vf;
        wmma::load_matrix_sync(vf, v_tile + kk * 16 * kLd + n * 16, kLd);
        wmma::mma_sync(acc, pf[kk], vf, acc);
      }
      wmma::store_matrix_sync(scratch + n * 16, acc, kOutLd, wmma::mem_row_major);
    }
    __syncwarp();
#pragma unroll
    for (int rr = 0; rr < kWarpRows; ++rr) {
      const float cr = corr[rr];
#pragma unroll
      for (int c = 0; c < kCols; ++c) o[rr][c] = o[rr][c] * cr + scratch[rr * kOutLd + lane + 32 * c];
    }
    __syncwarp();  // scratch is read before the next tile's S overwrites it
  }

  if (half == 0) inv_sum[r] = 1.0f / row_sum;
  if (half == 0 && i < t_len)
    lse[static_cast<std::int64_t>(head) * t_len + i] = (row_max + log2f(row_sum)) * kLn2;
  __syncwarp();
#pragma unroll
  for (int rr = 0; rr < kWarpRows; ++rr) {
    const int row = warp_q0 + rr;
    if (row >= t_len) break;
    const float f = inv_sum[rr];
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      const int col = lane + 32 * c;
      if (col < d) out[base + static_cast<std::int64_t>(row) * d + col] = from_accum<T>(o[rr][c] * f);
    }
  }
#else
  __trap();  // the backend refuses GPUs below compute capability 8.0
#endif
}

}  // namespace

bool tensor_core_forward(DType dtype, const void* q, const void* k, const void* v, void* out, void* lse,
                         std::int64_t bh, std::int64_t t, std::int64_t d, double scale, cudaStream_t stream) {
  plan("flash_attention", bh, t, d);  // checks d and T
  bool fits = true;
  dispatch_head_dim(
      d, [&](auto dmax) { fits = shared_memory_fits(forward_shared_bytes<decltype(dmax)::value>()); });
  if (!fits) return false;
  const Plan p = plan_blocks("flash_attention", bh, t);
  if (p.blocks == 0) return true;
  const bool wide = d % 8 == 0 && aligned(q) && aligned(k) && aligned(v);
  const auto scale_log2 = static_cast<float>(scale * kLog2eDouble);
  dispatch_16bit(dtype, "flash_attention", [&](auto tag) {
    using T = decltype(tag);
    dispatch_head_dim(d, [&](auto dmax) {
      constexpr int kD = decltype(dmax)::value;
      constexpr std::size_t kBytes = forward_shared_bytes<kD>();
      allow_shared_memory(tc_forward_kernel<T, kD>, kBytes, "flash_attention");
      tc_forward_kernel<T, kD><<<p.blocks, kThreads, kBytes, stream>>>(
          static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(out),
          static_cast<float*>(lse), static_cast<int>(t), static_cast<int>(d), static_cast<int>(bh), p.tiles,
          scale_log2, wide);
    });
  });
  return true;
}

}  // namespace detail::flash::tc
}  // namespace mtnlg::cuda
