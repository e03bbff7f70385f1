#pragma once
// MPI for the lifetime of one `mtnlg-data dedup` command, and only for it: the other subcommands never touch
// MPI. It is initialised only when a launcher started the process (mpirun, srun: their environment says so);
// a plain `mtnlg-data dedup` runs as one process exactly as before, without MPI's start-up cost or anything
// it needs from the machine. `mpirun -np 1` initialises MPI but, with one rank, takes the same path.
#include "rank_exchange.hpp"

namespace mtnlg::data::dedup {

class MpiSession {
 public:
  MpiSession();   // MPI_Init_thread(MPI_THREAD_FUNNELED): only the main thread calls MPI, workers never do
  ~MpiSession();  // MPI_Finalize, if this session initialised MPI
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  const RankExchange& ranks() const { return ranks_; }

  // Ends every rank of the job with exit_code. Only for a failure on one rank that the others cannot learn
  // about (they may be waiting for it in a collective and would wait forever).
  [[noreturn]] void abort(int exit_code) const;

 private:
  bool owns_mpi_ = false;
  RankExchange ranks_;
};

}  // namespace mtnlg::data::dedup
