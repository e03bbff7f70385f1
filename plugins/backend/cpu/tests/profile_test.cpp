// The opt-in per-op profile (key `profile`): off unless asked for, every kernel call counted under its op's
// name in both stream modes, and the table logged when the backend is destroyed.
#include <mutex>
#include <string>
#include <vector>

#include "mtnlg/log.hpp"

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

std::unique_ptr<CpuBackend> make_profiled_backend(bool deferred) {
  Table params;
  params.set("threads", Value(std::int64_t{2}));
  params.set("deferred", Value(deferred));
  params.set("profile", Value(true));
  const Table recipe;
  auto backend = std::make_unique<CpuBackend>(CreateArgs{params, recipe});
  backend->set_component_label("backend 'cpu'");
  return backend;
}

// Two gemms and a fill: the calls the profile must count.
void run_some_ops(Backend& be) {
  const Tensor a = to_device(be, {8, 4}, random_values<float>(32, 1));
  const Tensor b = to_device(be, {4, 5}, random_values<float>(20, 2));
  const Tensor c = be.empty({8, 5}, DType::f32);
  be.run(ops::fill, ops::FillArgs{c, 0.0});
  be.run(ops::gemm, ops::GemmArgs{a, b, c});
  be.run(ops::gemm, ops::GemmArgs{a, b, c, false, false, 1.0, 1.0});
}

std::int64_t calls_of(const OpProfile& profile, const std::string& op) {
  for (const OpProfile::Row& r : profile.rows())
    if (r.op == op) return r.calls;
  return 0;
}

std::mutex g_lines_mutex;
std::vector<std::string> g_lines;

// The sink sees every level; filtering is the sink's job, and the constructor logs at debug.
void capture(int level, const char* message, std::size_t length) {
  if (level < static_cast<int>(LogLevel::info)) return;
  const std::lock_guard lock(g_lines_mutex);
  g_lines.emplace_back(message, length);
}

TEST(CpuProfile, OffByDefault) {
  const auto be = make_backend();
  EXPECT_EQ(be->profile(), nullptr);
  run_some_ops(*be);  // and the wrapped kernels run normally without one
}

TEST(CpuProfile, CountsEveryKernelCallByOp) {
  const auto be = make_profiled_backend(false);
  ASSERT_NE(be->profile(), nullptr);
  run_some_ops(*be);
  EXPECT_EQ(calls_of(*be->profile(), "gemm"), 2);
  EXPECT_EQ(calls_of(*be->profile(), "fill"), 1);
  EXPECT_EQ(calls_of(*be->profile(), "copy"), 0);
  // Uploads and downloads are copies, not ops: not in the table.
  EXPECT_EQ(be->profile()->rows().size(), 2u);
  for (const OpProfile::Row& r : be->profile()->rows()) EXPECT_GE(r.seconds, 0.0) << r.op;
}

TEST(CpuProfile, DeferredModeCountsOpsWhenTheyRun) {
  const auto be = make_profiled_backend(true);
  const Tensor c = be->empty({4}, DType::f64);
  be->run(ops::fill, ops::FillArgs{c, 1.0});
  EXPECT_EQ(calls_of(*be->profile(), "fill"), 0);  // queued, not run
  be->synchronize();
  EXPECT_EQ(calls_of(*be->profile(), "fill"), 1);
}

TEST(CpuProfile, LogsTheTableWhenDestroyed) {
  g_lines.clear();
  set_log_sink(&capture);
  {
    const auto be = make_profiled_backend(false);
    run_some_ops(*be);
    EXPECT_TRUE(g_lines.empty());  // nothing until the end
  }
  set_log_sink(nullptr);
  ASSERT_EQ(g_lines.size(), 5u);  // title, header, gemm, fill, total
  EXPECT_THAT(g_lines[0], ::testing::HasSubstr("cpu backend profile"));
  EXPECT_THAT(g_lines[1], ::testing::MatchesRegex(" *op +calls +total ms +%"));
  EXPECT_THAT(g_lines[2], ::testing::MatchesRegex(" *(gemm +2|fill +1) +[0-9.]+ +[0-9.]+"));
  EXPECT_THAT(g_lines[4], ::testing::MatchesRegex(" *total +3 +[0-9.]+ +100.0"));
}

}  // namespace
}  // namespace mtnlg::cpu::test
