// Allocation: alignment, zero-byte blocks, and exact statistics (the planner and the meta backend rely on
// them).
#include <thread>

#include "backend_fixture.hpp"
#include "host_allocator.hpp"

namespace mtnlg::cpu::test {
namespace {

void expect_stats(const AllocStats& s, std::size_t current, std::size_t peak, std::size_t total,
                  std::size_t count) {
  EXPECT_EQ(s.current_bytes, current);
  EXPECT_EQ(s.peak_bytes, peak);
  EXPECT_EQ(s.total_bytes, total);
  EXPECT_EQ(s.allocations, count);
}

TEST(CpuAlloc, StatsAreExact) {
  auto backend = make_backend();
  expect_stats(backend->alloc_stats(), 0, 0, 0, 0);
  Tensor a = backend->empty({25}, DType::f32);    // 100 bytes
  Tensor z = backend->empty({0, 7}, DType::f64);  // 0 bytes, still an allocation
  Tensor c = backend->empty({3, 3}, DType::u16);  // 18 bytes
  expect_stats(backend->alloc_stats(), 118, 118, 118, 3);
  {
    Tensor view = a.slice(0, 3, 5);  // views share storage: no allocation
    a = Tensor();
    expect_stats(backend->alloc_stats(), 118, 118, 118, 3);
  }
  expect_stats(backend->alloc_stats(), 18, 118, 118, 3);
  Tensor d = backend->empty({50}, DType::i64);  // 400 bytes
  expect_stats(backend->alloc_stats(), 418, 418, 518, 4);
  d = Tensor();
  c = Tensor();
  z = Tensor();
  expect_stats(backend->alloc_stats(), 0, 418, 518, 4);
}

TEST(CpuAlloc, AlignedAndUsableWhenEmpty) {
  auto backend = make_backend();
  for (std::int64_t n : {0, 1, 3, 17, 1000}) {
    Tensor t = backend->empty({n}, DType::u16);
    ASSERT_NE(t.data(), nullptr) << "a cpu tensor never has null data, even when empty";
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
    EXPECT_EQ(t.storage()->bytes(), static_cast<std::size_t>(n) * 2);
    EXPECT_EQ(t.device(), (Device{DeviceKind::cpu, 0}));
  }
}

// Freed on other threads at the same time (as the deferred worker does): the totals stay exact.
TEST(CpuAlloc, ThreadSafeAccounting) {
  auto backend = make_backend();
  auto churn = [&] {
    for (int i = 0; i < 2000; ++i) {
      Tensor t = backend->empty({i % 13}, DType::f32);
    }
  };
  std::thread other(churn);
  churn();
  other.join();
  std::size_t per_thread = 0;
  for (int i = 0; i < 2000; ++i) per_thread += static_cast<std::size_t>(i % 13) * 4;
  const AllocStats s = backend->alloc_stats();
  EXPECT_EQ(s.current_bytes, 0u);
  EXPECT_EQ(s.total_bytes, 2 * per_thread);
  EXPECT_EQ(s.allocations, 4000u);
  EXPECT_LE(s.peak_bytes, 2u * 12 * 4);
  EXPECT_GE(s.peak_bytes, 12u * 4);
}

// A tensor may outlive its backend (a test fixture's member, a leaked view): freeing it later is safe.
TEST(CpuAlloc, TensorOutlivesBackend) {
  Tensor survivor;
  {
    auto backend = make_backend(2, /*deferred=*/true);
    survivor = backend->empty({100}, DType::f64);
    // Queued work that holds a tensor, never synchronized: dropped when the backend goes.
    Tensor held = backend->empty({10}, DType::f32);
    backend->run(ops::fill, ops::FillArgs{held, 1.0});
  }
  EXPECT_EQ(survivor.storage()->bytes(), 800u);
  survivor = Tensor();
}

// Storage held by queued work is released once the work has run.
TEST(CpuAlloc, QueuedWorkKeepsStorageAlive) {
  auto backend = make_backend(2, /*deferred=*/true);
  {
    Tensor t = backend->empty({256}, DType::f32);
    backend->run(ops::fill, ops::FillArgs{t, 1.0});
  }
  EXPECT_EQ(backend->alloc_stats().current_bytes, 1024u);
  backend->synchronize();
  EXPECT_EQ(backend->alloc_stats().current_bytes, 0u);
}

// Large freed blocks are reused for a request of the same size (a training step repeats its shapes), and
// the statistics still count requests and releases exactly.
TEST(CpuAlloc, ReusesALargeFreedBlockOfTheSameSize) {
  auto backend = make_backend();
  const std::int64_t n = 1 << 19;  // 2 MiB of f32
  const void* first = nullptr;
  {
    Tensor t = backend->empty({n}, DType::f32);
    first = t.data();
  }
  Tensor again = backend->empty({n}, DType::f32);
  EXPECT_EQ(again.data(), first);
  expect_stats(backend->alloc_stats(), 4u * n, 4u * n, 8u * n, 2);
}

TEST(CpuAlloc, CacheHoldsOnlyLargeBlocksAndDropsThemWhenShapesChange) {
  HostAllocator allocator;
  const std::size_t mib = std::size_t{1} << 20;
  allocator.allocate(1000);  // small: back to malloc at once
  EXPECT_EQ(allocator.cached_bytes(), 0u);
  allocator.allocate(2 * mib);
  EXPECT_EQ(allocator.cached_bytes(), 2 * mib);
  // A size the cache does not hold: the cached blocks (of shapes no longer in use) go back to the system.
  const auto other = allocator.allocate(3 * mib);
  EXPECT_EQ(allocator.cached_bytes(), 0u);
  const AllocStats s = allocator.stats();
  EXPECT_EQ(s.current_bytes, 3 * mib);
  EXPECT_EQ(s.allocations, 3u);
}

// The cache never holds more than was ever live at once.
TEST(CpuAlloc, CacheIsBoundedByThePeak) {
  HostAllocator allocator;
  const std::size_t mib = std::size_t{1} << 20;
  { const auto a = allocator.allocate(4 * mib); }  // peak 4 MiB, cached 4 MiB
  EXPECT_EQ(allocator.cached_bytes(), 4 * mib);
  {
    const auto a = allocator.allocate(4 * mib);  // the cached block
    const auto b = allocator.allocate(4 * mib);  // a miss (nothing else cached): peak 8 MiB
  }
  EXPECT_EQ(allocator.cached_bytes(), 8 * mib);
  EXPECT_LE(allocator.cached_bytes(), allocator.stats().peak_bytes);
}

}  // namespace
}  // namespace mtnlg::cpu::test
