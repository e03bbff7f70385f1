#include "nccl_bootstrap.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "nccl_status.hpp"

namespace mtnlg::comm::nccl {

namespace {

std::string mpi_error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) return str("MPI error code ", rc);
  return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return true;
  return false;
}

Bootstrap::Bootstrap() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  // MPI already running (another component started it) is used as it is; otherwise only a launcher's
  // environment is a reason to start it.
  uses_mpi_ = initialized || launched_by_mpi();
  if (!uses_mpi_) return;
  MTNLG_CHECK(!finalized, "comm/nccl: MPI was already finalised in this process");
  if (!initialized) {
    int provided = 0;
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) fail(str("comm/nccl: MPI_Init_thread failed: ", mpi_error_string(rc)));
    owns_mpi_ = true;
  }
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup (NCCL bootstrap)");
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler (NCCL bootstrap)");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank (NCCL bootstrap)");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size (NCCL bootstrap)");
}

Bootstrap::~Bootstrap() {
  if (!uses_mpi_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (owns_mpi_ && !aborted_) MPI_Finalize();
}

void Bootstrap::check(int rc, const std::string& what) const {
  if (rc != MPI_SUCCESS) fail(str(what, " failed on rank ", rank_, ": ", mpi_error_string(rc)));
}

ncclUniqueId Bootstrap::shared_unique_id() {
  ncclUniqueId id;
  std::memset(&id, 0, sizeof id);
  if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", nullptr, str("on rank ", rank_));
  if (uses_mpi_)
    check(MPI_Bcast(&id, static_cast<int>(sizeof id), MPI_BYTE, 0, comm_), "MPI_Bcast of the NCCL unique id");
  return id;
}

std::vector<int> Bootstrap::members(int color, int key) {
  if (!uses_mpi_) return {0};
  const int mine[2] = {color, key};
  std::vector<int> all(2 * static_cast<std::size_t>(size_));
  check(MPI_Allgather(mine, 2, MPI_INT, all.data(), 2, MPI_INT, comm_), "MPI_Allgather of split colors");
  std::vector<int> ranks;
  for (int r = 0; r < size_; ++r)
    if (all[2 * static_cast<std::size_t>(r)] == color) ranks.push_back(r);
  std::stable_sort(ranks.begin(), ranks.end(), [&all](int a, int b) {
    return all[2 * static_cast<std::size_t>(a) + 1] < all[2 * static_cast<std::size_t>(b) + 1];
  });
  return ranks;
}

void Bootstrap::abort(int exit_code) {
  aborted_ = true;
  std::fflush(stdout);
  std::fflush(stderr);
  if (uses_mpi_) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace mtnlg::comm::nccl
