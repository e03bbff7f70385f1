// Inverted dropout, forward (x → out) and backward (dy → dx, the same mask and scale): x, out (B, M)
// contiguous, out may be x. Element (b, m) is kept when u > p, u = rng::to_unit of the first two words of
// Philox at `key`, counter {m', m' >> 32, s, s >> 32} with m' = m + element_offset and s = first_sample + b;
// a kept element becomes x · 1/(1 − p), computed in double and rounded once. This is the CPU backend's
// computation, with the SDK's own constexpr Philox (mtnlg/rng.hpp) running on the device, so the mask is the
// CPU's bit for bit and f32/f64 outputs equal the CPU's exactly.
#include "common.cuh"
#include "mtnlg/cuda/dropout.hpp"
#include "mtnlg/rng.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using namespace detail;

// x, out: (n) = (B, row) flattened.
template <class T>
__global__ void dropout_kernel(const T* x, T* out, std::int64_t n, std::int64_t row, double p, double scale,
                               rng::Key key, std::uint64_t first_sample, std::uint64_t element_offset) {
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  // (b, m) of the thread's first element, then stepped along by the stride: no 64-bit division per element.
  std::int64_t b = start / row, m = start % row;
  const std::int64_t b_step = stride / row, m_step = stride % row;
  for (std::int64_t i = start; i < n; i += stride) {
    const std::uint64_t element = element_offset + static_cast<std::uint64_t>(m);
    const std::uint64_t sample = first_sample + static_cast<std::uint64_t>(b);
    const rng::Counter r =
        rng::philox4x32_10({static_cast<std::uint32_t>(element), static_cast<std::uint32_t>(element >> 32),
                            static_cast<std::uint32_t>(sample), static_cast<std::uint32_t>(sample >> 32)},
                           key);
    const bool kept = rng::to_unit(r[0], r[1]) > p;
    out[i] = from_accum<T>(kept ? static_cast<double>(to_accum(x[i])) * scale : 0.0);
    b += b_step;
    m += m_step;
    if (m >= row) {
      m -= row;
      ++b;
    }
  }
}

}  // namespace

void launch_dropout(DType dtype, const void* x, void* out, std::int64_t samples, std::int64_t n,
                    const DropoutMask& mask, cudaStream_t stream) {
  if (n == 0) return;
  const double scale = 1.0 / (1.0 - mask.p);
  dispatch_floating(dtype, "dropout", [&](auto tag) {
    using T = decltype(tag);
    dropout_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(out), n, n / samples, mask.p, scale,
        rng::Key{mask.key[0], mask.key[1]}, static_cast<std::uint64_t>(mask.first_sample),
        static_cast<std::uint64_t>(mask.element_offset));
  });
}

}  // namespace mtnlg::cuda::kernels
