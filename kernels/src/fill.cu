// fill: out[i] = value for i in [0, n), out (n) contiguous. The value is turned into the dtype's bit pattern
// once on the host, so one kernel per element width serves every dtype: the 16-byte-aligned bulk is written
// with 16-byte stores of the pattern repeated, the rest (or everything, when out is not aligned) one element
// at a time.
#include <cstring>
#include <stdexcept>
#include <string>

#include "common.cuh"
#include "mtnlg/cuda/fill.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using detail::grid_for;
using detail::kThreads;

// E: an unsigned integer as wide as the element. out[0, vectors · kPerVector) via `pattern`, then
// out[vectors · kPerVector, n) via `value`.
template <class E>
__global__ void fill_kernel(E* out, std::int64_t n, E value, uint4 pattern, std::int64_t vectors) {
  constexpr std::int64_t kPerVector = sizeof(uint4) / sizeof(E);
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  uint4* out_vectors = reinterpret_cast<uint4*>(out);
  for (std::int64_t i = start; i < vectors; i += stride) out_vectors[i] = pattern;
  for (std::int64_t i = vectors * kPerVector + start; i < n; i += stride) out[i] = value;
}

template <class E>
void fill_bits(void* out, std::int64_t n, E value, cudaStream_t stream) {
  constexpr std::int64_t kPerVector = sizeof(uint4) / sizeof(E);
  E lanes[kPerVector];
  for (E& lane : lanes) lane = value;
  uint4 pattern;
  std::memcpy(&pattern, lanes, sizeof pattern);
  const bool aligned = reinterpret_cast<std::uintptr_t>(out) % sizeof(uint4) == 0;
  const std::int64_t vectors = aligned ? n / kPerVector : 0;
  const std::int64_t scalars = n - vectors * kPerVector;
  fill_kernel<E><<<grid_for(vectors > scalars ? vectors : scalars), kThreads, 0, stream>>>(
      static_cast<E*>(out), n, value, pattern, vectors);
}

// The bits of `value` as the unsigned integer E of the same width.
template <class E, class V>
E bits_of(V value) {
  static_assert(sizeof(E) == sizeof(V));
  E bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

}  // namespace

void launch_fill(DType dtype, void* out, std::int64_t n, double value, cudaStream_t stream) {
  if (n == 0) return;
  switch (dtype) {
    case DType::f32:
      return fill_bits(out, n, bits_of<std::uint32_t>(static_cast<float>(value)), stream);
    case DType::f64:
      return fill_bits(out, n, bits_of<std::uint64_t>(value), stream);
    case DType::bf16:
      return fill_bits(out, n, bits_of<std::uint16_t>(__double2bfloat16(value)), stream);
    case DType::f16:
      return fill_bits(out, n, bits_of<std::uint16_t>(__double2half(value)), stream);
    case DType::i32:
      return fill_bits(out, n, bits_of<std::uint32_t>(static_cast<std::int32_t>(value)), stream);
    case DType::i64:
      return fill_bits(out, n, bits_of<std::uint64_t>(static_cast<std::int64_t>(value)), stream);
    case DType::u16:
      return fill_bits(out, n, static_cast<std::uint16_t>(value), stream);
  }
  throw std::invalid_argument("fill: no CUDA kernel for dtype " + std::to_string(static_cast<int>(dtype)));
}

}  // namespace mtnlg::cuda::kernels
