#pragma once
// Pinned (page-locked) host buffers through which the backend uploads small host data: a training step's
// tokens and targets. cudaMemcpyAsync from pageable memory may make the host wait for the stream to reach the
// copy (the driver stages it through its own pinned buffer), which would stall the host behind the previous
// step's queued kernels; from pinned memory the copy is a DMA queued like any other work. Uploads larger than
// a slot (checkpoints, initial weights: not per-step work) stay pageable.
//
// A ring of `slots` buffers of `slot_bytes` each, allocated on first use. A slot is reused only after the
// copy last queued from it has run (its event), so the host waits only when it is that many uploads ahead of
// the device.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

namespace mtnlg::cuda {

class PinnedStaging {
 public:
  PinnedStaging(int device, std::size_t slot_bytes, int slots);
  ~PinnedStaging();  // the caller has drained the streams the copies were queued on
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // Copies `bytes` of `src` into the next slot and queues its copy to device memory `dst` on `stream`; `src`
  // may change once this returns. False (nothing done) when `bytes` exceeds a slot, or host memory could not
  // be pinned (logged once; staging stays off): the caller copies from pageable memory instead.
  bool upload(void* dst, const void* src, std::size_t bytes, cudaStream_t stream);

  std::size_t slot_bytes() const { return slot_bytes_; }
  int slots() const { return static_cast<int>(ring_.size()); }

 private:
  struct Slot {
    void* host = nullptr;          // pinned, slot_bytes_; allocated on first use
    cudaEvent_t copied = nullptr;  // recorded after the copy last queued from it
  };
  int device_;
  std::size_t slot_bytes_;
  std::vector<Slot> ring_;
  std::size_t next_ = 0;
  bool disabled_ = false;
};

}  // namespace mtnlg::cuda
