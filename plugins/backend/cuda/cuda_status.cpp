#include "cuda_status.hpp"

#include <cstdlib>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::cuda {

std::string where_str(int device) {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"})
    if (const char* rank = std::getenv(var); rank != nullptr && *rank != '\0')
      return str("rank ", rank, ", cuda:", device);
  return str("cuda:", device);
}

void fail_cuda(const char* call, cudaError_t status, int device) {
  fail(str(call, " failed on ", where_str(device), ": ", cudaGetErrorString(status), " (",
           cudaGetErrorName(status), ")"));
}

void fail_cublas(const char* call, cublasStatus_t status, int device) {
  fail(str(call, " failed on ", where_str(device), ": ", cublasGetStatusString(status), " (",
           cublasGetStatusName(status), ")"));
}

}  // namespace mtnlg::cuda
