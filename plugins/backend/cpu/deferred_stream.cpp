#include "deferred_stream.hpp"

#include <utility>

#include "mtnlg/error.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::cpu {

DeferredStream::DeferredStream(Backend& backend) : backend_(backend) {
  worker_ = std::thread([this] { worker_loop(); });
}

DeferredStream::~DeferredStream() {
  std::deque<Work> leftover;
  std::exception_ptr unreported;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    leftover.swap(queue_);
    unreported = std::exchange(error_, nullptr);
  }
  wake_.notify_all();
  worker_.join();
  if (!leftover.empty())
    log_debug("cpu backend: dropping ", leftover.size(), " queued work items never synchronized");
  if (unreported) {
    try {
      std::rethrow_exception(unreported);
    } catch (const std::exception& e) {
      log_warn("cpu backend: queued work failed and no synchronize() reported it: ", e.what());
    } catch (...) {
      log_warn("cpu backend: queued work failed with an unknown exception and no synchronize() reported it");
    }
  }
  // `leftover` dies here, outside the lock: its tensors' release callbacks update the allocator's ledger.
}

void DeferredStream::push(Work work) {
  if (std::this_thread::get_id() == worker_.get_id()) {
    ExecContext ctx{backend_, nullptr};
    work(ctx);
    return;
  }
  std::unique_lock lock(mutex_);
  queue_.push_back(std::move(work));
  ++pushed_;
  if (pushed_ - finished_ > kMaxQueued) drain(lock);
}

void DeferredStream::drain(std::unique_lock<std::mutex>& lock) {
  const std::uint64_t target = pushed_;
  released_ = target;
  wake_.notify_one();
  idle_.wait(lock, [&] { return finished_ >= target; });
}

void DeferredStream::synchronize() {
  MTNLG_CHECK(std::this_thread::get_id() != worker_.get_id(),
              "synchronize() called from inside queued work; the stream cannot wait for itself");
  std::exception_ptr error;
  std::uint64_t dropped = 0;
  {
    std::unique_lock lock(mutex_);
    drain(lock);
    error = std::exchange(error_, nullptr);
    dropped = std::exchange(dropped_, 0);
  }
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    fail(str(e.what(),
             dropped > 0 ? str(" (", dropped, " later queued item(s) were dropped)") : std::string()));
  } catch (...) {
    fail(str("queued work failed with an unknown exception (", dropped,
             " later queued item(s) were dropped)"));
  }
}

void DeferredStream::worker_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || finished_ < released_; });
    if (stop_) return;
    Work work = std::move(queue_.front());
    queue_.pop_front();
    const bool drop = error_ != nullptr;
    lock.unlock();
    std::exception_ptr failure;
    if (!drop) {
      try {
        ExecContext ctx{backend_, nullptr};
        work(ctx);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    work = nullptr;  // release its tensors before reporting the item finished
    lock.lock();
    if (failure && !error_) error_ = failure;
    if (drop) ++dropped_;
    if (++finished_ == released_) idle_.notify_all();
  }
}

}  // namespace mtnlg::cpu
