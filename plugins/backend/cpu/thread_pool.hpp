#pragma once
// A fixed-size pool that runs a parallel-for over fixed partitions. The partition of [0, n) into chunks
// depends only on n and the grain a kernel asks for, never on the thread count or on which thread finishes
// first, so a kernel that writes one result per chunk and combines the results in chunk order is bitwise
// deterministic on any number of threads: this is what makes CPU runs reproducible (DESIGN.md, "Tests and
// checks").
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mtnlg::cpu {

class ThreadPool {
 public:
  // `threads` >= 1 counts the calling thread: the pool starts threads - 1 workers.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // The number of chunks parallel_for(n, grain, ...) runs: ceil(n / grain).
  static std::int64_t chunk_count(std::int64_t n, std::int64_t grain);

  // Runs body(begin, end) once for every chunk [k·grain, min(n, (k+1)·grain)), k = 0 .. chunk_count - 1, and
  // returns when all have run. Chunks are spread over the threads in contiguous runs. If the pool is already
  // busy (a nested call, or a second thread calling at the same time) the chunks run inline on the caller, in
  // order: the same chunks, so the same results. The first exception (lowest thread index) is rethrown.
  void parallel_for(std::int64_t n, std::int64_t grain,
                    const std::function<void(std::int64_t, std::int64_t)>& body);

 private:
  struct Job {
    std::int64_t n = 0;
    std::int64_t grain = 1;
    std::int64_t chunks = 0;
    const std::function<void(std::int64_t, std::int64_t)>* body = nullptr;
    std::vector<std::exception_ptr> errors;  // one slot per thread
    int pending = 0;                         // workers that have not finished their share
  };

  void worker_loop(int index);
  void run_share(Job& job, int index) const;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;  // workers wait for a new generation
  std::condition_variable done_;  // the caller waits for pending == 0
  Job* job_ = nullptr;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::atomic<bool> busy_{false};
};

}  // namespace mtnlg::cpu
