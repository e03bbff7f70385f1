#include "thread_pool.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::cpu {

ThreadPool::ThreadPool(int threads) {
  MTNLG_CHECK(threads >= 1, str("thread pool needs at least 1 thread, got ", threads));
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

std::int64_t ThreadPool::chunk_count(std::int64_t n, std::int64_t grain) {
  if (n <= 0) return 0;
  return (n + grain - 1) / grain;
}

// Thread `index` of `size` owns chunks [index·chunks/size, (index+1)·chunks/size): contiguous, so each thread
// streams through one region of memory.
void ThreadPool::run_share(Job& job, int index) const {
  const std::int64_t threads = size();
  const std::int64_t first = job.chunks * index / threads;
  const std::int64_t last = job.chunks * (index + 1) / threads;
  try {
    for (std::int64_t k = first; k < last; ++k) {
      const std::int64_t begin = k * job.grain;
      (*job.body)(begin, std::min(job.n, begin + job.grain));
    }
  } catch (...) {
    job.errors[static_cast<std::size_t>(index)] = std::current_exception();
  }
}

void ThreadPool::worker_loop(int index) {
  std::uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    Job* job = job_;
    lock.unlock();
    run_share(*job, index);
    lock.lock();
    if (--job->pending == 0) done_.notify_one();
  }
}

void ThreadPool::parallel_for(std::int64_t n, std::int64_t grain,
                              const std::function<void(std::int64_t, std::int64_t)>& body) {
  MTNLG_CHECK(grain >= 1, str("parallel_for grain must be >= 1, got ", grain));
  const std::int64_t chunks = chunk_count(n, grain);
  if (chunks == 0) return;

  // One chunk, no workers, or the pool is in use (nested or concurrent call): run the chunks inline, in
  // order.
  bool expected = false;
  if (chunks == 1 || workers_.empty() || !busy_.compare_exchange_strong(expected, true)) {
    for (std::int64_t k = 0; k < chunks; ++k) body(k * grain, std::min(n, (k + 1) * grain));
    return;
  }
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag.store(false); }
  } release{busy_};

  Job job;
  job.n = n;
  job.grain = grain;
  job.chunks = chunks;
  job.body = &body;
  job.errors.resize(static_cast<std::size_t>(size()));
  job.pending = static_cast<int>(workers_.size());
  {
    std::lock_guard lock(mutex_);
    job_ = &job;
    ++generation_;
  }
  wake_.notify_all();
  run_share(job, 0);
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return job.pending == 0; });
    job_ = nullptr;
  }
  for (auto& e : job.errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace mtnlg::cpu
