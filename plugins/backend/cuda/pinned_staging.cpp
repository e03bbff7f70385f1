#include "pinned_staging.hpp"

#include <cstring>

#include "mtnlg/error.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

#include "cuda_status.hpp"

namespace mtnlg::cuda {

PinnedStaging::PinnedStaging(int device, std::size_t slot_bytes, int slots)
    : device_(device), slot_bytes_(slot_bytes), ring_(static_cast<std::size_t>(slots)) {
  MTNLG_CHECK(
      slots >= 1 && slot_bytes >= 1,
      str("pinned staging: needs at least one slot of at least one byte, got ", slots, " of ", slot_bytes));
}

// Teardown never throws (the backend's destructor calls it after draining its stream).
PinnedStaging::~PinnedStaging() {
  for (Slot& slot : ring_) {
    if (slot.copied != nullptr) cudaEventDestroy(slot.copied);
    if (slot.host != nullptr) cudaFreeHost(slot.host);
  }
}

bool PinnedStaging::upload(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  if (disabled_ || bytes > slot_bytes_) return false;
  Slot& slot = ring_[next_];
  if (slot.copied == nullptr)
    MTNLG_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming), device_);
  if (slot.host == nullptr) {
    if (const cudaError_t status = cudaMallocHost(&slot.host, slot_bytes_); status != cudaSuccess) {
      // Page-locked memory can be scarce (a container's memlock limit): pageable copies still work.
      cudaGetLastError();  // not a sticky error: clear it
      slot.host = nullptr;
      disabled_ = true;
      log_warn("cuda backend: cannot pin ", slot_bytes_, " bytes of host memory for uploads (",
               cudaGetErrorString(status), " on ", where_str(device_), "); uploading from pageable memory");
      return false;
    }
  }
  // The copy queued from this slot a ring ago must have read it before it is overwritten (an event never
  // recorded counts as complete).
  MTNLG_CUDA_CHECK(cudaEventSynchronize(slot.copied), device_);
  std::memcpy(slot.host, src, bytes);
  MTNLG_CUDA_CHECK(cudaMemcpyAsync(dst, slot.host, bytes, cudaMemcpyHostToDevice, stream), device_);
  MTNLG_CUDA_CHECK(cudaEventRecord(slot.copied, stream), device_);
  next_ = (next_ + 1) % ring_.size();
  return true;
}

}  // namespace mtnlg::cuda
