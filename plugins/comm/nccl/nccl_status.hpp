#pragma once
// NCCL and CUDA failures as mtnlg::Error, naming the call, what it served, the rank and the device:
//   "ncclAllReduce for all_reduce #3 on group 'data' (world ranks 0,1) on rank 1, cuda:1 failed: unhandled
//    system error (ncclSystemError); NCCL: socket connect to 10.0.0.2 failed"
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <string>
#include <string_view>

namespace mtnlg::comm::nccl {

// `context` says what the call was for and where: "for all_reduce #3 on group 'data' (...) on rank 1,
// cuda:1".
[[noreturn]] void fail_nccl(std::string_view call, ncclResult_t result, ncclComm_t comm,
                            std::string_view context);
[[noreturn]] void fail_cuda(std::string_view call, cudaError_t status, std::string_view context);

inline void check_nccl(ncclResult_t result, std::string_view call, ncclComm_t comm,
                       std::string_view context) {
  if (result != ncclSuccess) fail_nccl(call, result, comm, context);
}
inline void check_cuda(cudaError_t status, std::string_view call, std::string_view context) {
  if (status != cudaSuccess) fail_cuda(call, status, context);
}

// "unhandled system error (ncclSystemError); NCCL: <its last error message>"
std::string nccl_error_text(ncclResult_t result, ncclComm_t comm);

}  // namespace mtnlg::comm::nccl
