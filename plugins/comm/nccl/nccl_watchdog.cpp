#include "nccl_watchdog.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "mtnlg/str.hpp"

namespace mtnlg::comm::nccl {

namespace {

// Short against any useful timeout, long enough that an idle watchdog costs nothing measurable.
constexpr auto kPollPeriod = std::chrono::milliseconds(20);
constexpr auto kAbortGrace = std::chrono::seconds(5);

}  // namespace

Watchdog::Watchdog(int world_rank, int device)
    : world_rank_(world_rank), device_(device), thread_([this](std::stop_token stop) { run(stop); }) {}

void Watchdog::set_timeout(double seconds) {
  std::lock_guard lock(mutex_);
  timeout_seconds_ = seconds;
}

double Watchdog::timeout() const {
  std::lock_guard lock(mutex_);
  return timeout_seconds_;
}

void Watchdog::track(ncclComm_t comm, std::shared_ptr<const Event> done, std::string what) {
  {
    std::lock_guard lock(mutex_);
    entries_.push_back({comm, std::move(done), std::move(what), Clock::now()});
  }
  wake_.notify_one();
}

void Watchdog::forget(ncclComm_t comm) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [comm](const Entry& e) { return e.comm == comm; });
}

void Watchdog::run(std::stop_token stop) {
  // Events are queried on the device that recorded them.
  cudaSetDevice(device_);
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (entries_.empty()) {
      wake_.wait(lock, stop, [this] { return !entries_.empty(); });
    } else {
      wake_.wait_for(lock, stop, kPollPeriod, [] { return false; });
    }
    if (stop.stop_requested()) break;
    inspect();
  }
}

void Watchdog::inspect() {
  const auto now = Clock::now();
  std::erase_if(entries_, [&](const Entry& e) {
    const cudaError_t status = cudaEventQuery(e.done->get());
    if (status == cudaSuccess) return true;
    if (status != cudaErrorNotReady)
      end_process(e.comm, str(e.what, " failed: its completion event reports ", cudaGetErrorString(status),
                              " (", cudaGetErrorName(status), ")"));
    ncclResult_t async = ncclSuccess;
    const ncclResult_t queried = ncclCommGetAsyncError(e.comm, &async);
    if (queried != ncclSuccess) async = queried;
    if (async != ncclSuccess && async != ncclInProgress)
      end_process(e.comm, str(e.what, " failed: NCCL reports an asynchronous error on the group: ",
                              nccl_error_text(async, e.comm)));
    const double waited = std::chrono::duration<double>(now - e.posted).count();
    if (timeout_seconds_ > 0 && waited >= timeout_seconds_)
      end_process(e.comm, str(e.what, " timed out after ", timeout_seconds_,
                              " s (parallel.timeout): another member of the group never posted the matching "
                              "operation, or the work queued before it on this rank's stream never finished; "
                              "aborting the group's NCCL communicator and ending the job"));
    return false;
  });
}

void Watchdog::end_process(ncclComm_t comm, const std::string& line) {
  // The line first: it is the point of all this, and must be out even if the abort were to stall.
  std::fprintf(stderr, "mtnlg: rank %d: %s\n", world_rank_, line.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  // ncclCommAbort may itself wait behind work the stalled operation waits for: it gets a few seconds on a
  // thread of its own, and the process ends either way.
  auto aborted = std::make_shared<std::atomic<bool>>(false);
  std::thread([comm, aborted] {
    ncclCommAbort(comm);
    aborted->store(true);
  }).detach();
  const auto deadline = Clock::now() + kAbortGrace;
  while (!aborted->load() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Not MPI_Abort: MPI is initialised MPI_THREAD_FUNNELED and this is not its thread. mpirun ends the job
  // when a rank exits non-zero without finalising MPI.
  std::_Exit(1);
}

}  // namespace mtnlg::comm::nccl
