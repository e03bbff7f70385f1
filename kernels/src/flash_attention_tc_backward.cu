// flash_attention_backward on tensor cores (bf16, f16), FlashAttention-2's algorithm without atomics: the
// probabilities are recomputed from the forward's lse, P_ij = exp(s_ij − lse_i), and
// dS_ij = P_ij·(dout_i·v_j − D_i)·scale with D_i = dout_i·out_i (computed once per row into a scratch
// vector). Products on tensor cores with f32 accumulation; P and dS are rounded to T for their products, as
// FlashAttention does; element-wise steps in f32 on each warp's scratch.
//   dkdv: one block per (tile of 64 keys, head), warp w owning keys 16w .. 16w + 15 with dK and dV in f32
//         fragments; query tiles from the diagonal on stream through shared memory:
//         Sᵀ = K_w·Qᵀ, dPᵀ = V_w·doutᵀ, dV += Pᵀ·dout, dK += dSᵀ·Q.
//   dq:   one block per (tile of 64 queries, head), warp w owning queries 16w .. 16w + 15; key tiles up to
//   the
//         diagonal (the last one, as both tiles are 64 rows) stream through shared memory: S = Q_w·Kᵀ,
//         dP = dout_w·Vᵀ, dQ += dS·K.
// Both recompute S and dP: the price of summing every output in one place, in a fixed order (deterministic).
#include "flash_attention_tc.cuh"

namespace mtnlg::cuda {
namespace detail::flash::tc {
namespace {

// Shared memory of either backward kernel, in bytes: four (64, D) 16-bit tiles, lse and D of 64 rows, and
// per warp two f32 (16, 64) scratches (S and dP; together they also stage a (16, D) result) and a 16-bit
// (16, 64) P / dS tile.
template <int D>
constexpr std::size_t backward_shared_bytes() {
  return 4 * kTile * kTileLd<D> * 2 + 2 * kTile * 4 +
         kWarps * (2 * kWarpRows * kScoreLd * 4 + kWarpRows * kProbLd * 2);
}

// Pointers into the backward kernels' shared memory.
template <class T, int D>
struct BackwardShared {
  T* tiles[4];    // (64, D) each, stride kTileLd<D>
  float* lse;     // (64) lse·log2 e of the tile's queries
  float* delta;   // (64) D_i
  float* scores;  // this warp's (16, 64) f32 S or Sᵀ; with dp after it, (16, D + 4) for storing results
  float* dp;      // this warp's (16, 64) f32 dP or dPᵀ
  T* prob;        // this warp's (16, 64) P or dS in T

  __device__ explicit BackwardShared(unsigned char* shared) {
    static_assert(kWarpRows * (D + 4) <= 2 * kWarpRows * kScoreLd, "the result staging must fit in S and dP");
    const int warp = threadIdx.x / 32;
    T* t = reinterpret_cast<T*>(shared);
    for (int i = 0; i < 4; ++i) tiles[i] = t + i * kTile * kTileLd<D>;
    lse = reinterpret_cast<float*>(t + 4 * kTile * kTileLd<D>);
    delta = lse + kTile;
    scores = delta + kTile + warp * 2 * kWarpRows * kScoreLd;
    dp = scores + kWarpRows * kScoreLd;
    prob =
        reinterpret_cast<T*>(delta + kTile + kWarps * 2 * kWarpRows * kScoreLd) + warp * kWarpRows * kProbLd;
  }
};

// lse (scaled to base 2) and D of rows row0 .. row0 + 63 into shared memory; zero past t_len.
__device__ __forceinline__ void stage_row_stats(float* lse_tile, float* delta_tile, const float* lse,
                                                const float* delta, std::int64_t head_row0, int row0,
                                                int t_len) {
  for (int e = threadIdx.x; e < kTile; e += kThreads) {
    const int row = row0 + e;
    lse_tile[e] = row < t_len ? lse[head_row0 + row] * kLog2e : 0.0f;
    delta_tile[e] = row < t_len ? delta[head_row0 + row] : 0.0f;
  }
}

// D_i = dout_i·out_i for every row of (rows, d), one warp per row, summed by a fixed butterfly.
template <class T>
__global__ void tc_delta_kernel(const T* __restrict__ out, const T* __restrict__ dout,
                                float* __restrict__ delta, std::int64_t rows, int d) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
  for (std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; row < rows;
       row += warps) {
    float part = 0.0f;
    for (int c = lane; c < d; c += 32) part += to_accum(out[row * d + c]) * to_accum(dout[row * d + c]);
    part = warp_sum(part);
    if (lane == 0) delta[row] = part;
  }
}

template <class T, int D>
__global__ void __launch_bounds__(kThreads)
    tc_dkdv_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                   const T* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
                   T* __restrict__ dk, T* __restrict__ dv, int t_len, int d, int bh, float scale_log2,
                   float scale, bool wide) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kLd = kTileLd<D>, kN = D / 16;
  extern __shared__ __align__(128) unsigned char shared[];
  const BackwardShared<T, D> sh(shared);
  T *k_block = sh.tiles[0], *v_block = sh.tiles[1], *q_tile = sh.tiles[2], *dout_tile = sh.tiles[3];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // The first key tiles are seen by the most queries: they are scheduled first.
  const int tile = static_cast<int>(blockIdx.x / bh), head = static_cast<int>(blockIdx.x % bh);
  const std::int64_t head_row0 = static_cast<std::int64_t>(head) * t_len, base = head_row0 * d;
  const int k0 = tile * kBlockRows, warp_k0 = k0 + warp * kWarpRows;

  stage_tile<kBlockRows, D>(k_block, k + base, k0, t_len, d, wide);
  stage_tile<kBlockRows, D>(v_block, v + base, k0, t_len, d, wide);
  FragC dk_acc[kN], dv_acc[kN];
#pragma unroll
  for (int n = 0; n < kN; ++n) {
    wmma::fill_fragment(dk_acc[n], 0.0f);
    wmma::fill_fragment(dv_acc[n], 0.0f);
  }

  // Queries before k0 see none of the block's keys.
  for (int i0 = k0; i0 < t_len; i0 += kTile) {
    __syncthreads();  // everyone is done with the previous query tile
    stage_tile<kTile, D>(q_tile, q + base, i0, t_len, d, wide);
    stage_tile<kTile, D>(dout_tile, dout + base, i0, t_len, d, wide);
    stage_row_stats(sh.lse, sh.delta, lse, delta, head_row0, i0, t_len);
    __syncthreads();

    // Sᵀ = K_w·Qᵀ and dPᵀ = V_w·doutᵀ: (16 keys, 64 queries) each.
    product_with_transpose<T, kTile / 16, kN>(sh.scores, kScoreLd, k_block + warp * kWarpRows * kLd, kLd,
                                              q_tile, kLd);
    product_with_transpose<T, kTile / 16, kN>(sh.dp, kScoreLd, v_block + warp * kWarpRows * kLd, kLd,
                                              dout_tile, kLd);
    __syncwarp();
    // Pᵀ: f32 in place of Sᵀ, and in T for the product; 0 where query < key or past T.
    for (int e = lane; e < kWarpRows * kTile; e += 32) {
      const int row = e / kTile, col = e % kTile, key = warp_k0 + row, query = i0 + col;
      float* s = sh.scores + row * kScoreLd + col;
      const float p = query < t_len && query >= key ? exp2f(*s * scale_log2 - sh.lse[col]) : 0.0f;
      *s = p;
      sh.prob[row * kProbLd + col] = from_accum<T>(p);
    }
    __syncwarp();
    accumulate_product<T, kN, kTile / 16>(dv_acc, sh.prob, kProbLd, dout_tile, kLd);  // dV += Pᵀ·dout
    __syncwarp();  // Pᵀ is read before dSᵀ overwrites it
    for (int e = lane; e < kWarpRows * kTile; e += 32) {
      const int row = e / kTile, col = e % kTile;
      const float ds =
          sh.scores[row * kScoreLd + col] * (sh.dp[row * kScoreLd + col] - sh.delta[col]) * scale;
      sh.prob[row * kProbLd + col] = from_accum<T>(ds);
    }
    __syncwarp();
    accumulate_product<T, kN, kTile / 16>(dk_acc, sh.prob, kProbLd, q_tile, kLd);  // dK += dSᵀ·Q
  }

  const auto one = [](int) { return 1.0f; };
  store_rows<D>(dk + base, sh.scores, dk_acc, warp_k0, t_len, d, one);
  store_rows<D>(dv + base, sh.scores, dv_acc, warp_k0, t_len, d, one);
#else
  __trap();  // the backend refuses GPUs below compute capability 8.0
#endif
}

template <class T, int D>
__global__ void __launch_bounds__(kThreads)
    tc_dq_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                 const T* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
                 T* __restrict__ dq, int t_len, int d, int bh, int tiles, float scale_log2, float scale,
                 bool wide) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  constexpr int kLd = kTileLd<D>, kN = D / 16;
  extern __shared__ __align__(128) unsigned char shared[];
  const BackwardShared<T, D> sh(shared);
  T *q_block = sh.tiles[0], *dout_block = sh.tiles[1], *k_tile = sh.tiles[2], *v_tile = sh.tiles[3];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // The last query tiles see the most keys: they are scheduled first.
  const int tile = tiles - 1 - static_cast<int>(blockIdx.x / bh), head = static_cast<int>(blockIdx.x % bh);
  const std::int64_t head_row0 = static_cast<std::int64_t>(head) * t_len, base = head_row0 * d;
  const int q0 = tile * kBlockRows, warp_q0 = q0 + warp * kWarpRows;
  const float* warp_lse = sh.lse + warp * kWarpRows;
  const float* warp_delta = sh.delta + warp * kWarpRows;

  stage_tile<kBlockRows, D>(q_block, q + base, q0, t_len, d, wide);
  stage_tile<kBlockRows, D>(dout_block, dout + base, q0, t_len, d, wide);
  stage_row_stats(sh.lse, sh.delta, lse, delta, head_row0, q0, t_len);
  FragC dq_acc[kN];
#pragma unroll
  for (int n = 0; n < kN; ++n) wmma::fill_fragment(dq_acc[n], 0.0f);

  const int key_end = min(t_len, q0 + kBlockRows);  // keys beyond the block's last query are never visible
  for (int k0 = 0; k0 < key_end; k0 += kTile) {
    __syncthreads();  // everyone is done with the previous key tile (and the block's staging is visible)
    stage_tile<kTile, D>(k_tile, k + base, k0, t_len, d, wide);
    stage_tile<kTile, D>(v_tile, v + base, k0, t_len, d, wide);
    __syncthreads();

    // S = Q_w·Kᵀ and dP = dout_w·Vᵀ: (16 queries, 64 keys) each.
    product_with_transpose<T, kTile / 16, kN>(sh.scores, kScoreLd, q_block + warp * kWarpRows * kLd, kLd,
                                              k_tile, kLd);
    product_with_transpose<T, kTile / 16, kN>(sh.dp, kScoreLd, dout_block + warp * kWarpRows * kLd, kLd,
                                              v_tile, kLd);
    __syncwarp();
    for (int e = lane; e < kWarpRows * kTile; e += 32) {
      const int row = e / kTile, col = e % kTile, query = warp_q0 + row, key = k0 + col;
      const float p = query < t_len && key <= query
                          ? exp2f(sh.scores[row * kScoreLd + col] * scale_log2 - warp_lse[row])
                          : 0.0f;
      const float ds = p * (sh.dp[row * kScoreLd + col] - warp_delta[row]) * scale;
      sh.prob[row * kProbLd + col] = from_accum<T>(ds);
    }
    __syncwarp();
    accumulate_product<T, kN, kTile / 16>(dq_acc, sh.prob, kProbLd, k_tile, kLd);  // dQ += dS·K
  }

  store_rows<D>(dq + base, sh.scores, dq_acc, warp_q0, t_len, d, [](int) { return 1.0f; });
#else
  __trap();  // the backend refuses GPUs below compute capability 8.0
#endif
}

}  // namespace

bool tensor_core_backward(DType dtype, const void* q, const void* k, const void* v, const void* out,
                          const void* lse, const void* dout, void* dq, void* dk, void* dv, std::int64_t bh,
                          std::int64_t t, std::int64_t d, double scale, cudaStream_t stream) {
  const char* op = "flash_attention_backward";
  plan(op, bh, t, d);  // checks d and T
  bool fits = true;
  dispatch_head_dim(
      d, [&](auto dmax) { fits = shared_memory_fits(backward_shared_bytes<decltype(dmax)::value>()); });
  if (!fits) return false;
  const Plan p = plan_blocks(op, bh, t);
  if (p.blocks == 0) return true;
  const bool wide = d % 8 == 0 && aligned(q) && aligned(k) && aligned(v) && aligned(dout);
  const auto scale_log2 = static_cast<float>(scale * kLog2eDouble);
  // D_i for every row, from the stream-ordered pool like column_sum's partial sums (outside the tensor
  // allocator's accounting, as the CPU backend's scratch vectors are).
  struct StreamScratch {
    float* data = nullptr;
    cudaStream_t stream;
    ~StreamScratch() { (void)cudaFreeAsync(data, stream); }  // after the kernels queued on the stream
  } delta{nullptr, stream};
  const std::size_t delta_bytes = sizeof(float) * static_cast<std::size_t>(bh * t);
  if (const cudaError_t status = cudaMallocAsync(reinterpret_cast<void**>(&delta.data), delta_bytes, stream);
      status != cudaSuccess)
    throw std::runtime_error(std::string(op) + ": cudaMallocAsync of " + std::to_string(delta_bytes) +
                             " bytes for the rows' dout·out failed: " + cudaGetErrorString(status));
  dispatch_16bit(dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const T *tq = static_cast<const T*>(q), *tk = static_cast<const T*>(k), *tv = static_cast<const T*>(v),
            *tdout = static_cast<const T*>(dout);
    const float* tlse = static_cast<const float*>(lse);
    tc_delta_kernel<T><<<grid_for(bh * t * 32), detail::kThreads, 0, stream>>>(
        static_cast<const T*>(out), tdout, delta.data, bh * t, static_cast<int>(d));
    dispatch_head_dim(d, [&](auto dmax) {
      constexpr int kD = decltype(dmax)::value;
      constexpr std::size_t kBytes = backward_shared_bytes<kD>();
      allow_shared_memory(tc_dkdv_kernel<T, kD>, kBytes, op);
      allow_shared_memory(tc_dq_kernel<T, kD>, kBytes, op);
      tc_dkdv_kernel<T, kD><<<p.blocks, kThreads, kBytes, stream>>>(
          tq, tk, tv, tdout, tlse, delta.data, static_cast<T*>(dk), static_cast<T*>(dv), static_cast<int>(t),
          static_cast<int>(d), static_cast<int>(bh), scale_log2, static_cast<float>(scale), wide);
      tc_dq_kernel<T, kD><<<p.blocks, kThreads, kBytes, stream>>>(
          tq, tk, tv, tdout, tlse, delta.data, static_cast<T*>(dq), static_cast<int>(t), static_cast<int>(d),
          static_cast<int>(bh), p.tiles, scale_log2, static_cast<float>(scale), wide);
    });
  });
  return true;
}

}  // namespace detail::flash::tc
}  // namespace mtnlg::cuda
