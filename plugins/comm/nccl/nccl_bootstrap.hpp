#pragma once
// How the ranks of a job find each other before NCCL can: through MPI when a launcher (mpirun, srun) started
// the process, or alone. A one-rank job started directly never initialises MPI at all, so it runs where no
// MPI launcher exists.
//
// With MPI, world rank 0 makes each NCCL unique id and MPI_Bcast hands it to the others; the members of a
// split group are found with MPI_Allgather. MPI is initialised MPI_THREAD_FUNNELED: every call here comes
// from the thread that created the communicator.
#include <mpi.h>
#include <nccl.h>

#include <string>
#include <vector>

namespace mtnlg::comm::nccl {

class Bootstrap {
 public:
  // Initialises MPI when a launcher's environment is present and MPI is not initialised yet.
  Bootstrap();
  // Finalises MPI if this bootstrap initialised it and abort() was never called.
  ~Bootstrap();
  Bootstrap(const Bootstrap&) = delete;
  Bootstrap& operator=(const Bootstrap&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool uses_mpi() const { return uses_mpi_; }

  // Collective: a new NCCL unique id, made by world rank 0 and the same on every rank.
  ncclUniqueId shared_unique_id();
  // Collective: the world ranks that pass `color`, ordered by key and then by world rank (MPI_Comm_split's
  // order, which ncclCommSplit follows too).
  std::vector<int> members(int color, int key);
  // Ends the whole job: MPI_Abort when MPI is in use (mpirun then ends every rank), else this process.
  [[noreturn]] void abort(int exit_code);

 private:
  void check(int rc, const std::string& what) const;

  bool uses_mpi_ = false;
  bool owns_mpi_ = false;
  bool aborted_ = false;
  int rank_ = 0;
  int size_ = 1;
  MPI_Comm comm_ = MPI_COMM_NULL;  // a private duplicate of MPI_COMM_WORLD, errors returned
};

// Whether a launcher's environment is present (OMPI_COMM_WORLD_SIZE, PMIX_SIZE, PMI_SIZE, SLURM_NTASKS).
bool launched_by_mpi();

}  // namespace mtnlg::comm::nccl
