#pragma once
// The CPU backend's deferred mode: a stream whose work runs later, on its own thread, like a CUDA stream. Its
// purpose is to make a missing synchronize() a wrong result in CPU tests, so "later" is deterministic: queued
// work runs only when synchronize() is called, or when more than kMaxQueued items are waiting (then the push
// that overflowed blocks until the worker has run them all, which bounds memory). Reading a result without a
// synchronize() therefore always sees the old contents, never "sometimes the new ones".
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "mtnlg/backend.hpp"

namespace mtnlg::cpu {

class DeferredStream {
 public:
  static constexpr std::size_t kMaxQueued = 4096;

  explicit DeferredStream(Backend& backend);
  // Joins the worker. Work never synchronized is dropped, not run: the host buffers it would read or write
  // may already be gone.
  ~DeferredStream();
  DeferredStream(const DeferredStream&) = delete;
  DeferredStream& operator=(const DeferredStream&) = delete;

  // Queues work. Called from inside queued work (a kernel that submits another), it runs inline instead, as
  // it would in immediate mode: the worker cannot wait for itself.
  void push(std::function<void(ExecContext&)> work);
  // Runs everything queued so far, in order, and waits for it. If an item threw, the first error is rethrown
  // here (items queued after it were dropped) and the stream is usable again afterwards.
  void synchronize();

 private:
  using Work = std::function<void(ExecContext&)>;

  void worker_loop();
  // Lets the worker run everything pushed so far and waits until it has. Lock held on entry and exit.
  void drain(std::unique_lock<std::mutex>& lock);

  Backend& backend_;
  std::mutex mutex_;
  std::condition_variable wake_;  // the worker waits for released work or stop
  std::condition_variable idle_;  // drain() waits for finished_ to catch up
  std::deque<Work> queue_;
  std::uint64_t pushed_ = 0;    // items pushed since creation
  std::uint64_t released_ = 0;  // the worker may run items up to this count
  std::uint64_t finished_ = 0;  // items run or dropped
  std::exception_ptr error_;    // the first failure since the last synchronize()
  std::uint64_t dropped_ = 0;   // items dropped because of error_
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace mtnlg::cpu
