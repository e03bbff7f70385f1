#pragma once
// What an `nccl` communicator, the groups it split and their pending operations share. The last of them to
// go destroys it: the world NCCL communicator, then the watchdog, then MPI.
#include <nccl.h>

#include <string>

#include "mtnlg/str.hpp"
#include "nccl_bootstrap.hpp"
#include "nccl_watchdog.hpp"

namespace mtnlg::comm::nccl {

struct Shared {
  explicit Shared(int cuda_device) : device(cuda_device), watchdog(bootstrap.rank(), cuda_device) {}
  ~Shared() {
    if (world != nullptr) ncclCommDestroy(world);
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  // " on rank 3, cuda:1", the end of every error's context.
  std::string where() const { return str(" on rank ", bootstrap.rank(), ", cuda:", device); }

  Bootstrap bootstrap;  // first: initialised before, destroyed after everything else here
  int device;
  Watchdog watchdog;
  ncclComm_t world = nullptr;  // the parent of every group
};

}  // namespace mtnlg::comm::nccl
