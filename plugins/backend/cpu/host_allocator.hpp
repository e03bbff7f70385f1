#pragma once
// Host memory for the CPU backend: 64-byte aligned blocks (a cache line, and the widest AVX-512 load) and
// exact allocation statistics. The statistics live in a ledger that every Storage's release callback shares,
// so a tensor that outlives the backend (or is freed on the deferred worker thread) still updates them
// safely.
#include <cstddef>
#include <memory>
#include <mutex>

#include "mtnlg/backend.hpp"

namespace mtnlg::cpu {

class HostAllocator {
 public:
  static constexpr std::size_t kAlignment = 64;

  HostAllocator();

  // A block of `bytes` (0 is allowed: it still counts as one allocation of 0 bytes).
  std::shared_ptr<Storage> allocate(std::size_t bytes);
  AllocStats stats() const;

 private:
  struct Ledger {
    mutable std::mutex mutex;
    AllocStats stats;
  };
  std::shared_ptr<Ledger> ledger_;
};

}  // namespace mtnlg::cpu
