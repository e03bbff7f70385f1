// Deferred mode: work runs on the worker thread only at synchronize(), so a missing synchronize() is a wrong
// result every time (not once in a while), errors surface at synchronize(), and order is submission order.
#include <atomic>
#include <thread>

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(CpuDeferred, ResultsWithoutSynchronizeAreStale) {
  auto backend = make_backend(2, /*deferred=*/true);
  const std::vector<float> ones(17, 1.0f);
  Tensor x = backend->empty({17}, DType::f32), y = backend->empty({17}, DType::f32);
  backend->upload(x, ones.data());
  backend->run(ops::fill, ops::FillArgs{y, 2.0});
  backend->run(ops::add, ops::BinaryArgs{x, y, y});
  std::vector<float> host(17, -7.0f);
  backend->download(host.data(), y);
  // Nothing has run: not the upload, not the kernels, not the download.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_THAT(host, ::testing::Each(-7.0f));
  backend->synchronize();
  EXPECT_THAT(host, ::testing::Each(3.0f));
}

// upload reads its source when it runs, not when it is called: the buffer must live, unchanged, until then.
TEST(CpuDeferred, UploadReadsSourceAtRunTime) {
  auto backend = make_backend(2, /*deferred=*/true);
  std::vector<double> src(5, 1.0);
  Tensor t = backend->empty({5}, DType::f64);
  backend->upload(t, src.data());
  src.assign(5, 9.0);
  std::vector<double> host(5, 0.0);
  backend->download(host.data(), t);
  backend->synchronize();
  EXPECT_THAT(host, ::testing::Each(9.0));
}

TEST(CpuDeferred, BadArgumentsFailAtTheCallNotAtSynchronize) {
  auto backend = make_backend(2, /*deferred=*/true);
  Tensor a = backend->empty({3, 5}, DType::f32), b = backend->empty({4, 7}, DType::f32);
  Tensor c = backend->empty({3, 7}, DType::f32);
  EXPECT_THAT(
      [&] {
        backend->run(ops::gemm, ops::GemmArgs{a, b, c});
      },
      ThrowsMessage<Error>(HasSubstr("backend 'cpu': gemm: inner dimensions differ")));
  backend->synchronize();  // nothing was queued, nothing fails later
}

TEST(CpuDeferred, KernelErrorSurfacesAtSynchronize) {
  auto backend = make_backend(2, /*deferred=*/true);
  Tensor later = backend->empty({4}, DType::f32);
  backend->run(ops::fill, ops::FillArgs{later, 5.0});
  backend->submit([](ExecContext&) { fail("first failure"); });  // queued: runs only at synchronize()
  backend->run(ops::fill, ops::FillArgs{later, 6.0});            // dropped: queued after the failure
  backend->submit([](ExecContext&) { fail("second failure"); });
  EXPECT_THAT([&] { backend->synchronize(); },
              ThrowsMessage<Error>(AllOf(HasSubstr("backend 'cpu': first failure"),
                                         HasSubstr("(2 later queued item(s) were dropped)"))));
  // The stream is usable again, and the dropped fill never ran.
  EXPECT_THAT(to_host<float>(*backend, later), ::testing::Each(5.0f));
  backend->synchronize();
}

TEST(CpuDeferred, ArbitraryExceptionBecomesError) {
  auto backend = make_backend(1, /*deferred=*/true);
  backend->submit([](ExecContext&) { throw std::runtime_error("boom"); });
  EXPECT_THAT([&] { backend->synchronize(); }, ThrowsMessage<Error>(HasSubstr("backend 'cpu': boom")));
}

TEST(CpuDeferred, RunsInSubmissionOrderOnTheWorker) {
  auto backend = make_backend(2, /*deferred=*/true);
  std::vector<int> order;
  std::thread::id worker;
  for (int i = 0; i < 1000; ++i)
    backend->submit([&order, &worker, i](ExecContext& ctx) {
      order.push_back(i);
      worker = std::this_thread::get_id();
      EXPECT_EQ(ctx.native_stream, nullptr);
    });
  EXPECT_TRUE(order.empty());
  backend->synchronize();
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i);
  EXPECT_NE(worker, std::this_thread::get_id());

  // Ops too: ((0 + 1) · 3 + 2) · 4 = 20 only in this order.
  Tensor x = backend->empty({9}, DType::f64), two = backend->empty({9}, DType::f64);
  backend->run(ops::fill, ops::FillArgs{x, 1.0});
  backend->run(ops::fill, ops::FillArgs{two, 2.0});
  backend->run(ops::scale, ops::ScaleArgs{x, 3.0});
  backend->run(ops::add, ops::BinaryArgs{x, two, x});
  backend->run(ops::scale, ops::ScaleArgs{x, 4.0});
  EXPECT_THAT(to_host<double>(*backend, x), ::testing::Each(20.0));
}

// More than kMaxQueued waiting items: the push that overflows runs them all before returning (bounded memory,
// still deterministic).
TEST(CpuDeferred, LongQueuesDrainAtTheBound) {
  auto backend = make_backend(1, /*deferred=*/true);
  std::atomic<int> ran{0};
  const int bound = static_cast<int>(DeferredStream::kMaxQueued);
  for (int i = 0; i < bound; ++i) backend->submit([&](ExecContext&) { ++ran; });
  EXPECT_EQ(ran.load(), 0);
  backend->submit([&](ExecContext&) { ++ran; });
  EXPECT_EQ(ran.load(), bound + 1);
  backend->submit([&](ExecContext&) { ++ran; });
  EXPECT_EQ(ran.load(), bound + 1);
  backend->synchronize();
  EXPECT_EQ(ran.load(), bound + 2);
}

// A kernel that submits more work (a layer running its own kernel from inside one) runs it inline.
TEST(CpuDeferred, NestedSubmitRunsInline) {
  auto backend = make_backend(2, /*deferred=*/true);
  std::vector<int> order;
  backend->submit([&](ExecContext& ctx) {
    order.push_back(1);
    ctx.backend.submit([&](ExecContext&) { order.push_back(2); });
    order.push_back(3);
  });
  backend->submit([&](ExecContext&) { order.push_back(4); });
  backend->synchronize();
  EXPECT_THAT(order, ::testing::ElementsAre(1, 2, 3, 4));
}

TEST(CpuDeferred, ImmediateModeRunsInline) {
  auto backend = make_backend(2, /*deferred=*/false);
  std::thread::id ran_on;
  backend->submit([&](ExecContext&) { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_THAT([&] { backend->submit([](ExecContext&) { fail("now"); }); },
              ThrowsMessage<Error>(HasSubstr("backend 'cpu': now")));
}

}  // namespace
}  // namespace mtnlg::cpu::test
