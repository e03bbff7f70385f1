#pragma once
// The `nccl` communicator: collectives and point-to-point on CUDA device tensors over NCCL, each on a CUDA
// stream of its group, ordered after the backend's stream and never blocking the host (see
// nccl_process_group.hpp), with a watchdog for timeouts and asynchronous errors (nccl_watchdog.hpp).
//
// Bootstrap: under a launcher, world rank 0 makes the NCCL unique id and MPI_Bcast shares it; a one-rank job
// started directly makes its own and never touches MPI (nccl_bootstrap.hpp). Groups are ncclCommSplit of the
// world's NCCL communicator.
//
// The GPU: the one the cuda backend would pick, so both agree — the recipe's backend.device when the cuda
// backend sets one, else the node-local rank modulo the visible devices.
#include <memory>
#include <string>

#include "mtnlg/communicator.hpp"
#include "mtnlg/component.hpp"

namespace mtnlg::comm {

namespace nccl {
struct Shared;
}

class NcclCommunicator final : public Communicator {
 public:
  // Throws mtnlg::Error when no CUDA device is usable. args.params is empty; args.recipe may hold [backend].
  explicit NcclCommunicator(const CreateArgs& args);
  ~NcclCommunicator() override;

  // True when this process sees a CUDA device; else false and why (no driver, no device).
  static bool available(std::string& reason);

  int device() const;  // the CUDA device index
  double timeout() const;

 protected:
  int do_rank() const override;
  int do_size() const override;
  std::unique_ptr<ProcessGroup> do_split(const std::string& name, int color, int key) override;
  void do_set_timeout(double seconds) override;
  [[noreturn]] void do_abort(int exit_code) override;

 private:
  std::shared_ptr<nccl::Shared> shared_;
};

}  // namespace mtnlg::comm
