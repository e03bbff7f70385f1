#pragma once
// The `mpi` communicator: collectives and point-to-point on host tensors (device tensors staged through host
// memory) over OpenMPI's C API, every call non-blocking (MPI_I…), with a per-communicator timeout that names
// the stalled ranks and ends the job.
//
// How a hang is diagnosed: every rank that sits in Work::wait() answers status queries on a private
// duplicate of MPI_COMM_WORLD (the "status channel"). A wait that passes the timeout asks every other member
// of its group what it is waiting in, gives them ~2 s to answer (answering queries itself meanwhile), prints
// one line naming the operation, its sequence number, the group and the ranks that did not answer, and calls
// MPI_Abort — throwing is not enough, because the other ranks would stay blocked. See README.md.
//
// Threading: MPI is initialised with MPI_THREAD_FUNNELED; every call must come from the thread that created
// the communicator (checked).
#include <memory>
#include <string>

#include "mtnlg/communicator.hpp"
#include "mtnlg/component.hpp"

namespace mtnlg::comm {

namespace detail {
struct MpiShared;  // MPI state shared by the communicator, its groups and their pending operations
}

class MpiCommunicator final : public Communicator {
 public:
  // Initialises MPI (MPI_Init_thread, MPI_THREAD_FUNNELED) unless it already is; args.params is empty.
  explicit MpiCommunicator(const CreateArgs& args);
  // Finalises MPI if this communicator initialised it, once the last group and pending operation is gone.
  ~MpiCommunicator() override;

  double timeout() const;

 protected:
  int do_rank() const override;
  int do_size() const override;
  std::unique_ptr<ProcessGroup> do_split(const std::string& name, int color, int key) override;
  void do_set_timeout(double seconds) override;
  [[noreturn]] void do_abort(int exit_code) override;

 private:
  std::shared_ptr<detail::MpiShared> shared_;
};

}  // namespace mtnlg::comm
