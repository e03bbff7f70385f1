#pragma once
// The CUDA objects comm/nccl owns, as RAII: an event (ordering between the backend's stream and a group's
// stream), and the current device for the length of a call (the caller's device is restored after it).
#include <cuda_runtime_api.h>

#include <string_view>

#include "nccl_status.hpp"

namespace mtnlg::comm::nccl {

class Event {
 public:
  explicit Event(std::string_view context) {
    check_cuda(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "cudaEventCreateWithFlags",
               context);
  }
  // An event destroyed before it completes is released by CUDA once it does.
  ~Event() { cudaEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

class DeviceGuard {
 public:
  DeviceGuard(int device, std::string_view context) {
    check_cuda(cudaGetDevice(&previous_), "cudaGetDevice", context);
    if (previous_ != device) check_cuda(cudaSetDevice(device), "cudaSetDevice", context);
  }
  ~DeviceGuard() {
    int current = previous_;
    cudaGetDevice(&current);
    if (current != previous_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace mtnlg::comm::nccl
