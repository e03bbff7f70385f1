#include "device_allocator.hpp"

#include <cuda_runtime_api.h>

#include <vector>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

#include "cuda_status.hpp"

namespace mtnlg::cuda {

namespace {

// Sizes are rounded up to 512 bytes (cudaMalloc's own alignment is 256), so near-equal requests share blocks.
constexpr std::size_t kRounding = 512;

std::size_t round_up(std::size_t bytes) {
  return bytes == 0 ? kRounding : (bytes + kRounding - 1) / kRounding * kRounding;
}

std::string mib(std::size_t bytes) {
  return str(static_cast<double>(bytes) / (1024.0 * 1024.0), " MiB");
}

}  // namespace

// The free blocks by size. Shared with the release callbacks: a tensor may outlive the backend, and then its
// block is freed with cudaFree instead of being cached.
struct DeviceAllocator::Pool {
  std::mutex mutex;
  std::multimap<std::size_t, void*> free_blocks;
  CacheStats stats;
  int device = 0;
  bool open = true;

  // The smallest cached block that fits without wasting more than half of it, or null.
  void* take(std::size_t rounded) {
    const std::lock_guard lock(mutex);
    const auto it = free_blocks.lower_bound(rounded);
    if (it == free_blocks.end() || it->first > 2 * rounded) return nullptr;
    void* p = it->second;
    stats.cached_bytes -= it->first;
    free_blocks.erase(it);
    ++stats.cache_hits;
    return p;
  }

  void give(void* p, std::size_t rounded) {
    {
      const std::lock_guard lock(mutex);
      if (open) {
        free_blocks.emplace(rounded, p);
        stats.cached_bytes += rounded;
        return;
      }
      stats.reserved_bytes -= rounded;
    }
    cudaFree(p);  // the backend is gone: nothing can reuse the block; an error here has no one to report to
  }

  void release_all() {
    std::multimap<std::size_t, void*> blocks;
    {
      const std::lock_guard lock(mutex);
      blocks.swap(free_blocks);
      for (const auto& [size, p] : blocks) stats.reserved_bytes -= size;
      stats.cached_bytes = 0;
    }
    for (const auto& [size, p] : blocks) cudaFree(p);
  }
};

DeviceAllocator::DeviceAllocator(int device)
    : pool_(std::make_shared<Pool>()), ledger_(std::make_shared<AllocLedger>()), device_(device) {
  pool_->device = device;
}

DeviceAllocator::~DeviceAllocator() {
  {
    const std::lock_guard lock(pool_->mutex);
    pool_->open = false;
  }
  pool_->release_all();
}

std::shared_ptr<Storage> DeviceAllocator::allocate(std::size_t bytes, const std::function<void()>& drain) {
  const std::size_t rounded = round_up(bytes);
  void* p = pool_->take(rounded);
  if (p == nullptr) {
    cudaError_t status = cudaMalloc(&p, rounded);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the sticky-free error state of the failed call
      drain();
      release_cache();
      status = cudaMalloc(&p, rounded);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      std::size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      const AllocStats live = ledger_->stats();
      fail(str("out of GPU memory on ", where_str(device_), ": asked for ", mib(bytes),
               "; live tensors hold ", mib(live.current_bytes), " (peak ", mib(live.peak_bytes),
               "), the device has ", mib(free_bytes), " free of ", mib(total_bytes),
               ". Lower train.micro_batch, or spread the model over more pipeline stages or tensor-parallel "
               "ranks (`mtnlg check` shows the memory per stage)"));
    }
    check_cuda(status, str("cudaMalloc(", rounded, " bytes)").c_str(), device_);
    const std::lock_guard lock(pool_->mutex);
    pool_->stats.reserved_bytes += rounded;
    ++pool_->stats.device_mallocs;
  }
  ledger_->allocated(bytes);
  auto release = [pool = pool_, ledger = ledger_, rounded](void* data, std::size_t size) {
    ledger->released(size);
    pool->give(data, rounded);
  };
  return std::make_shared<Storage>(p, bytes, Device{DeviceKind::cuda, device_}, std::move(release));
}

CacheStats DeviceAllocator::cache_stats() const {
  const std::lock_guard lock(pool_->mutex);
  return pool_->stats;
}

void DeviceAllocator::release_cache() {
  pool_->release_all();
}

}  // namespace mtnlg::cuda
