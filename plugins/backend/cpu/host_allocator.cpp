#include "host_allocator.hpp"

#include <sanitizer/asan_interface.h>  // no-op macros unless built with AddressSanitizer

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::cpu {

// Freed large blocks by padded size. A request takes a block of exactly its size. A request that finds none
// first returns every cached block to the system: the shapes have changed (another batch size, evaluation),
// and blocks of the old shapes might never be asked for again. The cache never holds more bytes than were
// ever live at once, so memory stays within twice the peak, and at the peak in a steady training loop.
class BlockCache {
 public:
  explicit BlockCache(std::shared_ptr<AllocLedger> ledger) : ledger_(std::move(ledger)) {}
  ~BlockCache() { release_all(); }

  void* take(std::size_t padded) {
    std::unique_lock lock(mutex_);
    const auto it = blocks_.find(padded);
    if (it != blocks_.end()) {
      void* p = it->second;
      blocks_.erase(it);
      bytes_ -= padded;
      ASAN_UNPOISON_MEMORY_REGION(p, padded);
      return p;
    }
    std::multimap<std::size_t, void*> stale;
    stale.swap(blocks_);
    bytes_ = 0;
    lock.unlock();
    for (const auto& [size, p] : stale) release(p, size);
    return nullptr;
  }

  void give(void* p, std::size_t padded) {
    const std::size_t peak = ledger_->stats().peak_bytes;
    {
      const std::lock_guard lock(mutex_);
      if (bytes_ + padded <= peak) {
        // A cached block is freed memory: under AddressSanitizer, a use after free still reports.
        ASAN_POISON_MEMORY_REGION(p, padded);
        blocks_.emplace(padded, p);
        bytes_ += padded;
        return;
      }
    }
    std::free(p);
  }

  std::size_t bytes() const {
    const std::lock_guard lock(mutex_);
    return bytes_;
  }

 private:
  static void release(void* p, std::size_t padded) {
    ASAN_UNPOISON_MEMORY_REGION(p, padded);
    std::free(p);
  }
  void release_all() {
    for (const auto& [size, p] : blocks_) release(p, size);
    blocks_.clear();
    bytes_ = 0;
  }

  std::shared_ptr<AllocLedger> ledger_;
  mutable std::mutex mutex_;
  std::multimap<std::size_t, void*> blocks_;
  std::size_t bytes_ = 0;
};

HostAllocator::HostAllocator()
    : ledger_(std::make_shared<AllocLedger>()), cache_(std::make_shared<BlockCache>(ledger_)) {}

std::size_t HostAllocator::cached_bytes() const {
  return cache_->bytes();
}

std::shared_ptr<Storage> HostAllocator::allocate(std::size_t bytes) {
  // aligned_alloc wants a multiple of the alignment; a 0-byte request still gets a real, unique block so that
  // data() is never null on the cpu device (null means "meta").
  const std::size_t padded = std::max<std::size_t>(1, (bytes + kAlignment - 1) / kAlignment) * kAlignment;
  MTNLG_CHECK(padded >= bytes, str("allocation of ", bytes, " bytes overflows"));
  const bool cached = padded >= kCachedMinBytes;
  void* data = cached ? cache_->take(padded) : nullptr;
  if (data == nullptr) data = std::aligned_alloc(kAlignment, padded);
  MTNLG_CHECK(data != nullptr,
              str("out of host memory allocating ", bytes, " bytes (", ledger_->stats().current_bytes,
                  " bytes live); lower the batch size or the model size"));
  ledger_->allocated(bytes);
  // The callback holds the ledger and the cache, not the allocator: the backend may be gone when the last
  // view dies. Released before it is cached, so the cache's bound sees the bytes as no longer live.
  return std::make_shared<Storage>(
      data, bytes, Device{DeviceKind::cpu, 0},
      [ledger = ledger_, cache = cached ? cache_ : nullptr, padded](void* p, std::size_t n) {
        ledger->released(n);
        if (cache)
          cache->give(p, padded);
        else
          std::free(p);
      });
}

}  // namespace mtnlg::cpu
