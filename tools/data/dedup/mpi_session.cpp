#include "mpi_session.hpp"

#include <mpi.h>

#include <cstdlib>

#include "mtnlg/error.hpp"

namespace mtnlg::data::dedup {

namespace {

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return true;
  return false;
}

}  // namespace

MpiSession::MpiSession() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    if (!launched_by_mpi()) return;
    int provided = 0;
    MTNLG_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
                "MPI_Init_thread failed");
    owns_mpi_ = true;
  }
  ranks_ = RankExchange::world();
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_mpi_ && !finalized) MPI_Finalize();
}

void MpiSession::abort(int exit_code) const {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);
}

}  // namespace mtnlg::data::dedup
