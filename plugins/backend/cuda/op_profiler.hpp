#pragma once
// The cuda backend's opt-in per-op GPU time (key `profile_ops`): every op launched through checked_kernel
// (cuda_ops.hpp) is bracketed by two CUDA events on the backend's stream; synchronize() turns the finished
// pairs into elapsed times, summed by (op, dtype); the backend's destructor writes the table to a file and
// logs its top rows.
//
// What a pair measures is the stream's time from the op's first to its last kernel: the kernels, plus any
// gap in which the GPU waited for the host to launch them (a host-bound op shows up as slow, which is where
// the time went). Events come from a pool and are recorded, never created, in a steady loop; recording
// costs the host a few microseconds per op, so a profiled run is slightly slower than an unprofiled one.
#include <cuda_runtime_api.h>

#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mtnlg/dtype.hpp"

namespace mtnlg::cuda {

class OpProfiler {
 public:
  // One op's events, from start() to stop().
  struct Span {
    cudaEvent_t begin = nullptr, end = nullptr;
    const char* op = nullptr;  // the op key's name: a string literal
    DType dtype = DType::f32;
  };
  struct Row {
    std::string op;
    DType dtype = DType::f32;
    std::int64_t calls = 0;
    double ms = 0.0;
  };

  // `file` as the recipe gives it (a relative path is taken from the current directory now, so a later
  // change of directory does not move it); `origin` names the key for errors ("cuda backend: key
  // 'profile_ops' (recipe.toml:9:1)"); `device_label` heads the table ("cuda:0, NVIDIA H200"). Throws
  // mtnlg::Error when the file's directory does not exist or is not writable, so that a bad path fails
  // before training rather than after it. Under a launcher with several ranks each rank writes its own file,
  // FILE's stem + ".rank-N".
  OpProfiler(const std::string& file, const std::string& origin, std::string device_label, int device);
  ~OpProfiler();
  OpProfiler(const OpProfiler&) = delete;
  OpProfiler& operator=(const OpProfiler&) = delete;

  // Records the op's first event on `stream`. An op that throws before stop() leaves its span unreturned:
  // its events stay owned (destroyed with the profiler) but are not reused.
  Span start(const char* op, DType dtype, cudaStream_t stream);
  // Records the op's last event and queues the span for resolve().
  void stop(const Span& span, cudaStream_t stream);

  // After the stream has drained (synchronize()): every queued span's time added to its (op, dtype) and
  // its events returned to the pool. Throws mtnlg::Error when CUDA refuses.
  void resolve();

  // Ops by total time, most first.
  std::vector<Row> rows() const;
  // The file's contents: a header line, then a markdown table (op, dtype, calls, total ms, mean µs, share).
  std::string table() const;
  // resolve(), then the table written to the file (a temporary, then renamed over it) and its top rows
  // logged. For the backend's destructor: never throws; a failure is logged as a warning.
  void write_report() noexcept;

  const std::filesystem::path& file() const { return file_; }
  // Events created so far: the pool's size (for tests: a steady loop creates none).
  std::size_t event_count() const;

 private:
  // A finished span's events back to the pool, its time into the totals.
  void account(const Span& span);
  // Spans at the front of the queue whose end event has passed, resolved without waiting: what keeps the
  // pool bounded by how far the host runs ahead of the GPU when synchronize() is rare.
  void harvest_finished();
  cudaEvent_t take_event();

  struct Totals {
    std::int64_t calls = 0;
    double ms = 0.0;
  };

  std::filesystem::path file_;
  std::string device_label_;
  int device_ = 0;
  // Two host threads may submit to one backend; one lock keeps the pool and the queue consistent.
  mutable std::mutex mutex_;
  std::vector<cudaEvent_t> owned_;  // every event created, destroyed with the profiler
  std::vector<cudaEvent_t> free_;   // recorded on no pending span
  std::deque<Span> pending_;        // stopped, not yet resolved; in stream order
  std::map<std::string, std::array<Totals, kDTypeCount>, std::less<>> totals_;
};

}  // namespace mtnlg::cuda
