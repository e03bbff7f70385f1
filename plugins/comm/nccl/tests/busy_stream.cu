#include "busy_stream.hpp"

namespace mtnlg::comm::test {
namespace {

__device__ unsigned long long global_timer_ns() {
  unsigned long long now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  return now;
}

__global__ void spin_kernel(unsigned long long nanoseconds) {
  const unsigned long long start = global_timer_ns();
  while (global_timer_ns() - start < nanoseconds) {
  }
}

}  // namespace

cudaError_t hold_stream(cudaStream_t stream, int milliseconds) {
  spin_kernel<<<1, 1, 0, stream>>>(static_cast<unsigned long long>(milliseconds) * 1000000ull);
  return cudaGetLastError();
}

}  // namespace mtnlg::comm::test
