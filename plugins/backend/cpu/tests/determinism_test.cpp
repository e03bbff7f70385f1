// Bitwise reproducibility: the same inputs give the same bits on every run and for every thread count,
// because the thread pool's partitions depend only on the problem size (DESIGN.md: resume gives identical
// metrics).
#include <mutex>
#include <set>
#include <utility>

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

// Every elementwise op and reduction on inputs big enough to span many chunks, downloaded as one f-vector
// each.
template <class T>
std::vector<std::vector<T>> run_all_ops(std::int64_t threads) {
  auto backend = make_backend(threads);
  Backend& b = *backend;
  const std::int64_t rows = 1031, n = 257;  // 264967 elements: 9 elementwise chunks, 17 column_sum row blocks
  const auto xv = random_values<T>(rows * n, 1, -4.0, 4.0), yv = random_values<T>(rows * n, 2);
  const auto bias = random_values<T>(n, 3);
  const Tensor x = to_device(b, {rows, n}, xv), y = to_device(b, {rows, n}, yv);
  auto fresh = [&] { return b.empty({rows, n}, dtype_of<T>()); };

  Tensor added = fresh(), product = fresh(), biased = fresh(), gelu = fresh(), dgelu = fresh(),
         copied = fresh();
  Tensor axpy = to_device(b, {rows, n}, yv), scaled = to_device(b, {rows, n}, xv);
  Tensor colsum = to_device(b, {n}, bias), tall_colsum = b.empty({3}, dtype_of<T>());
  Tensor norm = b.empty({1}, dtype_of<T>());
  b.run(ops::add, ops::BinaryArgs{x, y, added});
  b.run(ops::mul, ops::BinaryArgs{x, y, product});
  b.run(ops::axpy, ops::AxpyArgs{x, axpy, 0.3});
  b.run(ops::scale, ops::ScaleArgs{scaled, -1.7});
  b.run(ops::bias_add, ops::BiasAddArgs{x, to_device(b, {n}, bias), biased});
  b.run(ops::gelu, ops::GeluArgs{x, gelu});
  b.run(ops::gelu_backward, ops::GeluBackwardArgs{x, y, dgelu});
  b.run(ops::copy, ops::CopyArgs{x.transpose(0, 1), copied.reshape({n, rows})});
  b.run(ops::column_sum, ops::ColumnSumArgs{x, colsum, 0.5});
  b.run(ops::column_sum, ops::ColumnSumArgs{x.sub_buffer(0, {88322, 3}), tall_colsum});
  b.run(ops::squared_norm, ops::SquaredNormArgs{x, norm});
  std::vector<std::vector<T>> out;
  for (const Tensor& t :
       {added, product, axpy, scaled, biased, gelu, dgelu, copied, colsum, tall_colsum, norm})
    out.push_back(to_host<T>(b, t));
  return out;
}

template <class T>
class CpuDeterminism : public ::testing::Test {};
TYPED_TEST_SUITE(CpuDeterminism, FloatTypes, DTypeNames);

TYPED_TEST(CpuDeterminism, BitwiseAcrossRunsAndThreadCounts) {
  using T = TypeParam;
  const auto one = run_all_ops<T>(1);
  const auto two = run_all_ops<T>(2);
  const auto two_again = run_all_ops<T>(2);
  const auto three = run_all_ops<T>(3);
  const char* names[] = {"add",         "mul",           "axpy", "scale",      "bias_add",
                         "gelu",        "gelu_backward", "copy", "column_sum", "column_sum (tall)",
                         "squared_norm"};
  ASSERT_EQ(one.size(), std::size(names));
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(two[i], two_again[i])) << names[i] << ": two runs with 2 threads differ";
    EXPECT_TRUE(bitwise_equal(one[i], two[i])) << names[i] << ": 1 thread and 2 threads differ";
    EXPECT_TRUE(bitwise_equal(one[i], three[i])) << names[i] << ": 1 thread and 3 threads differ";
  }
}

// gemm: the same call twice on the same backend gives the same bits (OpenBLAS's partition is fixed for a
// fixed thread count).
TYPED_TEST(CpuDeterminism, GemmRepeatable) {
  using T = TypeParam;
  auto backend = make_backend(2);
  const Tensor a = to_device(*backend, {129, 65}, random_values<T>(129 * 65, 1));
  const Tensor b = to_device(*backend, {65, 257}, random_values<T>(65 * 257, 2));
  std::vector<std::vector<T>> results;
  for (int run = 0; run < 2; ++run) {
    Tensor c = backend->empty({129, 257}, dtype_of<T>());
    backend->run(ops::gemm, ops::GemmArgs{a, b, c});
    results.push_back(to_host<T>(*backend, c));
  }
  EXPECT_TRUE(bitwise_equal(results[0], results[1]));
}

// The pool's chunks are [k·grain, min(n, (k+1)·grain)) whatever the thread count, each exactly once.
TEST(CpuThreadPool, ChunksDependOnlyOnProblemSize) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    std::mutex mutex;
    std::set<std::pair<std::int64_t, std::int64_t>> seen;
    pool.parallel_for(1000, 64, [&](std::int64_t b, std::int64_t e) {
      std::lock_guard lock(mutex);
      EXPECT_TRUE(seen.emplace(b, e).second) << "chunk run twice";
    });
    ASSERT_EQ(seen.size(), 16u) << threads << " threads";
    std::int64_t next = 0;
    for (auto [b, e] : seen) {
      EXPECT_EQ(b, next);
      EXPECT_EQ(e, std::min<std::int64_t>(1000, b + 64));
      next = e;
    }
  }
}

// A nested parallel_for (a kernel that calls another) runs inline instead of deadlocking; an exception in a
// chunk reaches the caller.
TEST(CpuThreadPool, NestedCallsAndExceptions) {
  ThreadPool pool(2);
  std::atomic<std::int64_t> total{0};
  pool.parallel_for(4, 1, [&](std::int64_t, std::int64_t) {
    pool.parallel_for(100, 10, [&](std::int64_t b, std::int64_t e) { total += e - b; });
  });
  EXPECT_EQ(total.load(), 400);
  EXPECT_THROW(pool.parallel_for(8, 1,
                                 [&](std::int64_t b, std::int64_t) {
                                   if (b == 6) fail("chunk 6 failed");
                                 }),
               Error);
  // Still usable afterwards.
  total = 0;
  pool.parallel_for(10, 1, [&](std::int64_t b, std::int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 10);
}

}  // namespace
}  // namespace mtnlg::cpu::test
