#pragma once
// Watches every NCCL operation in flight from a thread of its own. Work::wait() does not block the host (it
// orders the backend's stream after the operation), so no host call is left to notice a hang: the watchdog
// does. Every 20 ms it queries each operation's completion event. An operation still pending `timeout`
// seconds after it was posted, or an asynchronous error NCCL reports on its communicator
// (ncclCommGetAsyncError: a peer that went away, a network failure), makes the watchdog print one line
// naming the operation, its group and this rank, abort that communicator (ncclCommAbort, which stops NCCL's
// kernels) and end the process with exit code 1 — under mpirun that ends the job. Throwing is not an option:
// the host thread is usually blocked in the backend's synchronize() behind the stalled operation.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <nccl.h>

#include "cuda_handles.hpp"

namespace mtnlg::comm::nccl {

class Watchdog {
 public:
  Watchdog(int world_rank, int device);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // 0: wait forever (asynchronous errors are still watched for).
  void set_timeout(double seconds);
  double timeout() const;

  // Watches an operation posted on `comm` until `done` completes. `what` names it ("all_reduce #3 on group
  // 'data' (world ranks 0,1)").
  void track(ncclComm_t comm, std::shared_ptr<const Event> done, std::string what);
  // Stops watching every operation of `comm`: called before the communicator is destroyed.
  void forget(ncclComm_t comm);

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    ncclComm_t comm;
    std::shared_ptr<const Event> done;
    std::string what;
    Clock::time_point posted;
  };

  void run(std::stop_token stop);
  void inspect();  // with mutex_ held
  [[noreturn]] void end_process(ncclComm_t comm, const std::string& line);

  const int world_rank_;
  const int device_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::vector<Entry> entries_;
  double timeout_seconds_ = 0.0;
  std::jthread thread_;  // last: starts once every other member exists, and is stopped and joined first
};

}  // namespace mtnlg::comm::nccl
