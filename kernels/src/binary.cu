// add: out[i] = a[i] + b[i]; mul: out[i] = a[i] · b[i]. a, b, out: (n) contiguous; out may be a or b (each
// element is read before it is written, at the same index). Computed in Accum<T>, rounded once. When every
// pointer is 16-byte aligned, threads move 16-byte packs (8 bf16/f16, 4 f32, 2 f64) for full memory
// bandwidth, and the last n mod pack elements go one at a time.
#include "common.cuh"
#include "mtnlg/cuda/binary.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

struct Add {
  template <class A>
  __device__ A operator()(A a, A b) const {
    return a + b;
  }
};
struct Mul {
  template <class A>
  __device__ A operator()(A a, A b) const {
    return a * b;
  }
};

template <class T, class Op>
__device__ __forceinline__ T apply(Op op, T a, T b) {
  return from_accum<T>(op(to_accum(a), to_accum(b)));
}

// packed: a, b and out are 16-byte aligned.
template <class T, class Op>
__global__ void binary_kernel(const T* a, const T* b, T* out, std::int64_t n, bool packed, Op op) {
  constexpr int kPack = Pack<T>::kSize;
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t packs = packed ? n / kPack : 0;
  const auto* a_packs = reinterpret_cast<const Pack<T>*>(a);
  const auto* b_packs = reinterpret_cast<const Pack<T>*>(b);
  auto* out_packs = reinterpret_cast<Pack<T>*>(out);
  for (std::int64_t p = start; p < packs; p += stride) {
    const Pack<T> ap = a_packs[p], bp = b_packs[p];
    Pack<T> result;
#pragma unroll
    for (int k = 0; k < kPack; ++k) result.v[k] = apply(op, ap.v[k], bp.v[k]);
    out_packs[p] = result;
  }
  for (std::int64_t i = packs * kPack + start; i < n; i += stride) out[i] = apply(op, a[i], b[i]);
}

template <class Op>
void launch_binary(const char* name, DType dtype, const void* a, const void* b, void* out, std::int64_t n,
                   cudaStream_t stream) {
  if (n == 0) return;
  dispatch_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    const bool packed = aligned(a) && aligned(b) && aligned(out);
    binary_kernel<T, Op><<<grid_for(packed ? n / Pack<T>::kSize + 1 : n), kThreads, 0, stream>>>(
        static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out), n, packed, Op{});
  });
}

}  // namespace

void launch_add(DType dtype, const void* a, const void* b, void* out, std::int64_t n, cudaStream_t stream) {
  launch_binary<Add>("add", dtype, a, b, out, n, stream);
}

void launch_mul(DType dtype, const void* a, const void* b, void* out, std::int64_t n, cudaStream_t stream) {
  launch_binary<Mul>("mul", dtype, a, b, out, n, stream);
}

}  // namespace mtnlg::cuda::kernels
