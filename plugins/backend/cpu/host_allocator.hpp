#pragma once
// Host memory for the CPU backend: 64-byte aligned blocks (a cache line, and the widest AVX-512 load),
// counted in the SDK's AllocLedger, which every Storage's release callback shares.
//
// Large freed blocks are kept for reuse. glibc serves blocks above its mmap threshold (at most 32 MiB) with
// a fresh mmap and unmaps them on free, so without reuse every step of a GPT faults in its logits and
// activations page by page again (the kernel zeroes each page): measured on the tiny recipe, more than half
// of a step. Training repeats the same shapes every step, so an exact-size cache hits almost always.
#include <cstddef>
#include <memory>

#include "mtnlg/backend.hpp"

namespace mtnlg::cpu {

class BlockCache;

class HostAllocator {
 public:
  static constexpr std::size_t kAlignment = 64;
  // Blocks of this many bytes or more (after padding) are cached when freed; smaller ones go straight back
  // to malloc, which keeps them in its own free lists anyway.
  static constexpr std::size_t kCachedMinBytes = std::size_t{1} << 20;

  HostAllocator();

  // A block of `bytes` (0 is allowed: it still counts as one allocation of 0 bytes). Its contents are
  // undefined: a reused block holds what its last user left.
  std::shared_ptr<Storage> allocate(std::size_t bytes);
  // Statistics count requests and releases, not blocks kept in the cache: the same numbers as without it
  // (and as the meta backend's).
  AllocStats stats() const { return ledger_->stats(); }
  // Bytes held in freed blocks kept for reuse.
  std::size_t cached_bytes() const;

 private:
  std::shared_ptr<AllocLedger> ledger_;
  // Shared with every Storage's release callback, like the ledger: tensors may outlive the backend.
  std::shared_ptr<BlockCache> cache_;
};

}  // namespace mtnlg::cpu
