#include "nccl_status.hpp"

#include <string>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::comm::nccl {

namespace {

const char* result_name(ncclResult_t result) {
  switch (result) {
    case ncclSuccess:
      return "ncclSuccess";
    case ncclUnhandledCudaError:
      return "ncclUnhandledCudaError";
    case ncclSystemError:
      return "ncclSystemError";
    case ncclInternalError:
      return "ncclInternalError";
    case ncclInvalidArgument:
      return "ncclInvalidArgument";
    case ncclInvalidUsage:
      return "ncclInvalidUsage";
    case ncclRemoteError:
      return "ncclRemoteError";
    case ncclInProgress:
      return "ncclInProgress";
    default:
      return "unknown NCCL result";
  }
}

}  // namespace

std::string nccl_error_text(ncclResult_t result, ncclComm_t comm) {
  std::string text = str(ncclGetErrorString(result), " (", result_name(result), ")");
  // The last error names the actual cause (a peer that went away, a socket, a CUDA call); the result code
  // alone rarely does.
  if (const char* last = ncclGetLastError(comm); last != nullptr && *last != '\0')
    text += str("; NCCL: ", last);
  return text;
}

void fail_nccl(std::string_view call, ncclResult_t result, ncclComm_t comm, std::string_view context) {
  fail(str(call, " ", context, " failed: ", nccl_error_text(result, comm),
           result == ncclSystemError || result == ncclInternalError || result == ncclUnhandledCudaError
               ? " (run with NCCL_DEBUG=WARN for NCCL's own account)"
               : ""));
}

void fail_cuda(std::string_view call, cudaError_t status, std::string_view context) {
  fail(str(call, " ", context, " failed: ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ")"));
}

}  // namespace mtnlg::comm::nccl
