#pragma once
// The cpu backend's opt-in per-op profile (key `profile`): wall time of each kernel call, by op name. The
// kernels are wrapped at registration (cpu_kernels.hpp, register_op), so the time is the kernel's alone, not
// the argument checks and queueing that Backend::run does first; in deferred mode it is measured on the
// worker when the op runs.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mtnlg::cpu {

class OpProfile {
 public:
  struct Row {
    std::string op;
    std::int64_t calls = 0;
    double seconds = 0.0;
  };

  void add(std::string_view op, std::chrono::steady_clock::duration elapsed);
  // Ops by total time, most first.
  std::vector<Row> rows() const;
  // The table the backend logs when it is destroyed: op, calls, total ms, % of the kernels' total.
  std::vector<std::string> table() const;

 private:
  struct Totals {
    std::int64_t calls = 0;
    std::chrono::steady_clock::duration elapsed{};
  };
  // Kernels run on one thread at a time per stream, but nothing stops two host threads from submitting to
  // one immediate-mode backend.
  mutable std::mutex mutex_;
  std::map<std::string, Totals, std::less<>> totals_;
};

}  // namespace mtnlg::cpu
