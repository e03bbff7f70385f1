#pragma once
// Host memory for the CPU backend: 64-byte aligned blocks (a cache line, and the widest AVX-512 load),
// counted in the SDK's AllocLedger, which every Storage's release callback shares.
#include <cstddef>
#include <memory>

#include "mtnlg/backend.hpp"

namespace mtnlg::cpu {

class HostAllocator {
 public:
  static constexpr std::size_t kAlignment = 64;

  // A block of `bytes` (0 is allowed: it still counts as one allocation of 0 bytes).
  std::shared_ptr<Storage> allocate(std::size_t bytes);
  AllocStats stats() const { return ledger_->stats(); }

 private:
  std::shared_ptr<AllocLedger> ledger_ = std::make_shared<AllocLedger>();
};

}  // namespace mtnlg::cpu
