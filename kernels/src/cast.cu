// cast between the floating dtypes: one thread per element in a grid-stride loop, 16 instantiations (source ×
// destination). Every element is rounded once from its exact value, as on the CPU backend: a 16-bit or f32
// source widens exactly to float (to double for an f64 destination) and is then rounded to the destination;
// an f64 source goes to a 16-bit destination directly (__double2bfloat16, __double2half), because rounding
// it to f32 first could land on a 16-bit tie the f64 value was not, which would then round the wrong way.
#include <type_traits>

#include "common.cuh"
#include "mtnlg/cuda/cast.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

template <class D, class S>
__device__ __forceinline__ D convert(S x) {
  if constexpr (std::is_same_v<S, double> && std::is_same_v<D, bf16>)
    return __double2bfloat16(x);
  else if constexpr (std::is_same_v<S, double> && std::is_same_v<D, f16>)
    return __double2half(x);
  else if constexpr (std::is_same_v<S, double> || std::is_same_v<D, double>)
    return static_cast<D>(to_accum(x));  // f64 ↔ f32 (rounds to nearest even), or widening to f64 (exact)
  else
    return from_accum<D>(to_accum(x));  // exact as float, rounded once to D
}

template <class S, class D>
__global__ void cast_kernel(const S* src, D* dst, std::int64_t n) {
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  for (std::int64_t i = start; i < n; i += stride) dst[i] = convert<D>(src[i]);
}

}  // namespace

void launch_cast(DType src_dtype, const void* src, DType dst_dtype, void* dst, std::int64_t n,
                 cudaStream_t stream) {
  if (n == 0) return;
  dispatch_floating(src_dtype, "cast", [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch_floating(dst_dtype, "cast", [&](auto dst_tag) {
      using D = decltype(dst_tag);
      cast_kernel<S, D>
          <<<grid_for(n), kThreads, 0, stream>>>(static_cast<const S*>(src), static_cast<D*>(dst), n);
    });
  });
}

}  // namespace mtnlg::cuda::kernels
