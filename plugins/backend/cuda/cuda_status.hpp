#pragma once
// CUDA and cuBLAS failures as mtnlg::Error, naming the call, the rank and the device:
//   "cudaMalloc(&ptr, bytes) failed on rank 3, cuda:0: out of memory (cudaErrorMemoryAllocation)".
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

namespace mtnlg::cuda {

// "rank 3, cuda:0" (the rank from the launcher's environment: OpenMPI, PMI or Slurm), or "cuda:0" alone.
std::string where_str(int device);

[[noreturn]] void fail_cuda(const char* call, cudaError_t status, int device);
[[noreturn]] void fail_cublas(const char* call, cublasStatus_t status, int device);

inline void check_cuda(cudaError_t status, const char* call, int device) {
  if (status != cudaSuccess) fail_cuda(call, status, device);
}
inline void check_cublas(cublasStatus_t status, const char* call, int device) {
  if (status != CUBLAS_STATUS_SUCCESS) fail_cublas(call, status, device);
}

}  // namespace mtnlg::cuda

// The call's own text goes into the message.
#define MTNLG_CUDA_CHECK(call, device) ::mtnlg::cuda::check_cuda((call), #call, (device))
#define MTNLG_CUBLAS_CHECK(call, device) ::mtnlg::cuda::check_cublas((call), #call, (device))
