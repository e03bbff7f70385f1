#pragma once
// A caching device allocator: freed blocks go back to a pool, keyed by size, and later requests of a similar
// size reuse them, so a training step in the steady state calls cudaMalloc/cudaFree not at all (both
// synchronise the device). Safe with one stream: a block freed on the host while kernels still queued on the
// stream use it is only handed to work queued after them on the same stream.
//
// Statistics (AllocStats) count requested bytes exactly like every other backend, so the meta backend's
// accounting of a graph equals the GPU's; reserved bytes (what cudaMalloc holds) are reported separately.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "mtnlg/backend.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg::cuda {

struct CacheStats {
  std::size_t reserved_bytes = 0;  // held from cudaMalloc: live blocks plus the cache
  std::size_t cached_bytes = 0;    // free blocks in the cache
  std::size_t device_mallocs = 0;  // cudaMalloc calls so far
  std::size_t cache_hits = 0;      // requests served from the cache
};

class DeviceAllocator {
 public:
  explicit DeviceAllocator(int device);
  ~DeviceAllocator();  // frees the cache; blocks still alive are freed when their last tensor goes
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;

  // A block of at least `bytes`; on cudaMalloc failure the cache is emptied (after `drain`, which must wait
  // for queued work) and the call retried once, then an error naming the sizes.
  std::shared_ptr<Storage> allocate(std::size_t bytes, const std::function<void()>& drain);
  AllocStats stats() const { return ledger_->stats(); }
  CacheStats cache_stats() const;
  // cudaFree every cached block (the caller has drained the stream).
  void release_cache();

 private:
  struct Pool;
  std::shared_ptr<Pool> pool_;  // shared with every Storage's release callback
  std::shared_ptr<AllocLedger> ledger_;
  int device_;
};

}  // namespace mtnlg::cuda
