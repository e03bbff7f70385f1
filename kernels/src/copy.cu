// copy: dst = src over one shape (up to kMaxDims dimensions) with any strides, in elements, on either side.
// The layouts are first simplified on the host: dimensions of size 1 are dropped, and neighbours that are
// contiguous with each other in both src and dst are merged. What is left is either one dense run in both
// (a device-to-device memcpy) or a general strided walk: one thread per element, turning its row-major linear
// index into coordinates. Only the element width matters, so one kernel per width serves every dtype, and
// where the innermost dimension is dense on both sides, several elements move as one wider word.
#include <stdexcept>
#include <string>

#include "common.cuh"
#include "mtnlg/cuda/copy.hpp"

namespace mtnlg::cuda::kernels {
namespace {

using detail::grid_for;
using detail::kThreads;

// The simplified shape, innermost dimension first; no dimension has size 1. ndim = 0: a single element.
struct CopyDims {
  int ndim = 0;
  std::int64_t shape[kMaxDims] = {};
  std::int64_t src_strides[kMaxDims] = {};
  std::int64_t dst_strides[kMaxDims] = {};
};

CopyDims simplify(const StridedLayout& src, const StridedLayout& dst) {
  CopyDims dims;
  for (int d = dst.ndim - 1; d >= 0; --d) {
    const std::int64_t size = dst.shape[d];
    if (size == 1) continue;
    if (dims.ndim > 0) {
      const int inner = dims.ndim - 1;
      if (src.strides[d] == dims.src_strides[inner] * dims.shape[inner] &&
          dst.strides[d] == dims.dst_strides[inner] * dims.shape[inner]) {
        dims.shape[inner] *= size;
        continue;
      }
    }
    dims.shape[dims.ndim] = size;
    dims.src_strides[dims.ndim] = src.strides[d];
    dims.dst_strides[dims.ndim] = dst.strides[d];
    ++dims.ndim;
  }
  return dims;
}

// E: the word moved (an element, or several: see widen), as an unsigned integer or uint4 of its width; dims
// and n count words. Index: wide enough for n (32-bit division is much cheaper than 64-bit, and most tensors
// have fewer than 2³² elements).
template <class E, class Index>
__global__ void copy_strided_kernel(const E* src, E* dst, CopyDims dims, Index n) {
  const Index start = blockIdx.x * Index{blockDim.x} + threadIdx.x;
  const Index stride = Index{gridDim.x} * blockDim.x;
  for (Index i = start; i < n; i += stride) {
    Index rest = i;
    std::int64_t src_offset = 0, dst_offset = 0;
    // Unrolled with a constant bound so that dims stays in registers rather than local memory.
#pragma unroll
    for (int d = 0; d < kMaxDims; ++d) {
      if (d == dims.ndim) break;
      const Index size = static_cast<Index>(dims.shape[d]);
      const Index coordinate = rest % size;
      rest /= size;
      src_offset += static_cast<std::int64_t>(coordinate) * dims.src_strides[d];
      dst_offset += static_cast<std::int64_t>(coordinate) * dims.dst_strides[d];
    }
    dst[dst_offset] = src[src_offset];
  }
}

template <class E>
void launch_strided_words(const void* src, void* dst, const CopyDims& dims, cudaStream_t stream) {
  std::int64_t n = 1;
  for (int d = 0; d < dims.ndim; ++d) n *= dims.shape[d];
  const auto* s = static_cast<const E*>(src);
  auto* d = static_cast<E*>(dst);
  if (n <= static_cast<std::int64_t>(UINT32_MAX) - std::int64_t{65536} * kThreads)  // i + stride cannot wrap
    copy_strided_kernel<E, std::uint32_t>
        <<<grid_for(n), kThreads, 0, stream>>>(s, d, dims, static_cast<std::uint32_t>(n));
  else
    copy_strided_kernel<E, std::uint64_t>
        <<<grid_for(n), kThreads, 0, stream>>>(s, d, dims, static_cast<std::uint64_t>(n));
}

// The strided walk over words of `width` bytes (dims counts words).
void launch_strided(std::size_t width, const void* src, void* dst, const CopyDims& dims,
                    cudaStream_t stream) {
  switch (width) {
    case 2:
      return launch_strided_words<std::uint16_t>(src, dst, dims, stream);
    case 4:
      return launch_strided_words<std::uint32_t>(src, dst, dims, stream);
    case 8:
      return launch_strided_words<std::uint64_t>(src, dst, dims, stream);
    default:
      return launch_strided_words<uint4>(src, dst, dims, stream);
  }
}

// Whether `factor` consecutive elements can move as one word: the innermost dimension is dense on both sides
// and every word starts at a multiple of the word's size. If so, dims is rewritten in words. This turns the
// common permutations of leading dimensions ((B, T, H, D) → (B, H, T, D)) into 16-byte loads and stores.
bool widen(CopyDims& dims, std::int64_t factor, std::size_t width, const void* src, const void* dst) {
  const auto aligned = [width](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % width == 0; };
  if (dims.ndim == 0 || dims.src_strides[0] != 1 || dims.dst_strides[0] != 1 || dims.shape[0] % factor != 0 ||
      !aligned(src) || !aligned(dst))
    return false;
  for (int d = 1; d < dims.ndim; ++d)
    if (dims.src_strides[d] % factor != 0 || dims.dst_strides[d] % factor != 0) return false;
  dims.shape[0] /= factor;
  for (int d = 1; d < dims.ndim; ++d) {
    dims.src_strides[d] /= factor;
    dims.dst_strides[d] /= factor;
  }
  return true;
}

}  // namespace

void launch_copy(DType dtype, const void* src, StridedLayout src_layout, void* dst, StridedLayout dst_layout,
                 cudaStream_t stream) {
  const std::size_t size = dtype_size(dtype);
  if (size != 2 && size != 4 && size != 8)
    throw std::invalid_argument("copy: no CUDA kernel for dtype " + std::string(dtype_name(dtype)));
  std::int64_t n = 1;
  for (int d = 0; d < dst_layout.ndim; ++d) n *= dst_layout.shape[d];
  if (n == 0) return;
  const CopyDims dims = simplify(src_layout, dst_layout);
  bool same_strides = true;
  for (int d = 0; d < dims.ndim; ++d) same_strides &= dims.src_strides[d] == dims.dst_strides[d];
  if (src == dst && same_strides) return;  // the very same view: nothing to do
  if (dims.ndim == 0 || (dims.ndim == 1 && dims.src_strides[0] == 1 && dims.dst_strides[0] == 1)) {
    // One dense run. A failure is left for the caller's cudaGetLastError, like a failed launch.
    (void)cudaMemcpyAsync(dst, src, static_cast<std::size_t>(n) * size, cudaMemcpyDeviceToDevice, stream);
    return;
  }
  for (std::size_t width = sizeof(uint4); width > size; width /= 2) {
    CopyDims words = dims;
    if (widen(words, static_cast<std::int64_t>(width / size), width, src, dst))
      return launch_strided(width, src, dst, words, stream);
  }
  launch_strided(size, src, dst, dims, stream);
}

}  // namespace mtnlg::cuda::kernels
