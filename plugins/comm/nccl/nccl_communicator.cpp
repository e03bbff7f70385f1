#include "nccl_communicator.hpp"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstdlib>

#include "cuda_handles.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "nccl_process_group.hpp"
#include "nccl_shared.hpp"
#include "nccl_status.hpp"

namespace mtnlg::comm {

namespace {

// The node-local rank from the launcher, or 0: the cuda backend's rule.
int local_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"})
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return std::atoi(v);
  return 0;
}

int choose_device(const Table& recipe, int count) {
  const Value* backend = recipe.find_path("backend.name");
  const Value* asked = recipe.find_path("backend.device");
  if (backend != nullptr && backend->is_string() && backend->as_string() == "cuda" && asked != nullptr &&
      asked->is_int() && asked->as_int() >= 0) {
    MTNLG_CHECK(asked->as_int() < count,
                str("comm/nccl: backend.device (", asked->pos.str(), ") is ", asked->as_int(),
                    " but this process sees ", count, " CUDA device(s) (0..", count - 1, ")"));
    return static_cast<int>(asked->as_int());
  }
  return local_rank() % count;
}

}  // namespace

bool NcclCommunicator::available(std::string& reason) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    reason = str(
        "no usable CUDA device: cudaGetDeviceCount says ", cudaGetErrorString(status), " (",
        cudaGetErrorName(status), ")",
        status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice
            ? "; this machine has no NVIDIA driver or GPU (parallel.communicator = \"mpi\" runs without one)"
            : "");
    return false;
  }
  if (count == 0) {
    reason = "no usable CUDA device: none is visible (check CUDA_VISIBLE_DEVICES)";
    return false;
  }
  return true;
}

NcclCommunicator::NcclCommunicator(const CreateArgs& args) {
  std::string why;
  MTNLG_CHECK(available(why), str("comm/nccl: ", why));
  int count = 0;
  nccl::check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount", "in comm/nccl");
  shared_ = std::make_shared<nccl::Shared>(choose_device(args.recipe, count));
  nccl::Shared& s = *shared_;
  const std::string context = str("for the world communicator (", s.bootstrap.size(), " ranks)", s.where());
  // NCCL binds a communicator to the current device when it is made.
  nccl::DeviceGuard guard(s.device, context);
  const ncclUniqueId id = s.bootstrap.shared_unique_id();
  nccl::check_nccl(ncclCommInitRank(&s.world, s.bootstrap.size(), id, s.bootstrap.rank()), "ncclCommInitRank",
                   nullptr, context);
}

NcclCommunicator::~NcclCommunicator() = default;

int NcclCommunicator::device() const {
  return shared_->device;
}

double NcclCommunicator::timeout() const {
  return shared_->watchdog.timeout();
}

int NcclCommunicator::do_rank() const {
  return shared_->bootstrap.rank();
}

int NcclCommunicator::do_size() const {
  return shared_->bootstrap.size();
}

std::unique_ptr<ProcessGroup> NcclCommunicator::do_split(const std::string& name, int color, int key) {
  nccl::Shared& s = *shared_;
  MTNLG_CHECK(color >= 0,
              str("split of group '", name, "' on rank ", s.bootstrap.rank(), ": color must be >= 0, got ",
                  color, " (every rank must call split, with a non-negative color)"));
  const std::string context = str("for group '", name, "' (color ", color, ", key ", key, ")", s.where());
  std::vector<int> members = s.bootstrap.members(color, key);
  nccl::DeviceGuard guard(s.device, context);
  ncclComm_t comm = nullptr;
  nccl::check_nccl(ncclCommSplit(s.world, color, key, &comm, nullptr), "ncclCommSplit", s.world, context);
  return nccl::make_process_group(shared_, name, comm, std::move(members));
}

void NcclCommunicator::do_set_timeout(double seconds) {
  shared_->watchdog.set_timeout(seconds);
}

void NcclCommunicator::do_abort(int exit_code) {
  shared_->bootstrap.abort(exit_code);
}

}  // namespace mtnlg::comm
