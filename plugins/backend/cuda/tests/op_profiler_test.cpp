// The per-op GPU time (key `profile_ops`, op_profiler.hpp): off unless a file is named; every op counted
// under its (op, dtype) across synchronisations, gemm included; the table written to the file when the
// backend is destroyed and its top rows logged; no event created per op once the pool has grown; and a file
// that could not be written refused when the backend is created, before any work.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mtnlg/error.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/ops.hpp"

#include "cuda_backend.hpp"

namespace mtnlg::cuda::test {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<CudaBackend> make_backend(const std::string* profile_ops) {
  Table params;
  params.set("device", Value(std::int64_t{-1}));
  params.set("tf32", Value(false));
  if (profile_ops != nullptr) params.set("profile_ops", Value(*profile_ops));
  const Table recipe;
  auto backend = std::make_unique<CudaBackend>(CreateArgs{params, recipe});
  backend->set_component_label("backend 'cuda'");
  return backend;
}

std::unique_ptr<CudaBackend> make_profiled_backend(const fs::path& file) {
  const std::string name = file.string();
  return make_backend(&name);
}

// A fresh directory for one test, removed with everything in it afterwards.
class OpProfilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mtnlg-op-profiler-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

// One row of the table: | op | dtype | calls | total ms | mean µs | share % |
struct Row {
  std::string op, dtype;
  long long calls = 0;
  double total_ms = 0.0, mean_us = 0.0, share = 0.0;
};

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Row> table_rows(const std::string& text) {
  std::vector<Row> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("| ", 0) != 0 || line.rfind("| op |", 0) == 0 || line.rfind("| --- |", 0) == 0) continue;
    std::replace(line.begin(), line.end(), '|', ' ');
    std::istringstream cells(line);
    Row r;
    cells >> r.op >> r.dtype >> r.calls >> r.total_ms >> r.mean_us >> r.share;
    EXPECT_FALSE(cells.fail()) << "unparsable row: " << line;
    rows.push_back(r);
  }
  return rows;
}

std::map<std::pair<std::string, std::string>, long long> calls_by_op(const std::vector<Row>& rows) {
  std::map<std::pair<std::string, std::string>, long long> calls;
  for (const Row& r : rows) calls[{r.op, r.dtype}] += r.calls;
  return calls;
}

std::mutex g_lines_mutex;
std::vector<std::string> g_lines;

void capture(int level, const char* message, std::size_t length) {
  if (level < static_cast<int>(LogLevel::info)) return;
  const std::lock_guard lock(g_lines_mutex);
  g_lines.emplace_back(message, length);
}

// The message of the mtnlg::Error that creating a backend with this profile_ops throws, or "" if none.
std::string creation_error(const std::string& profile_ops) {
  try {
    make_backend(&profile_ops);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(OpProfilerTest, OffUnlessAFileIsNamed) {
  EXPECT_EQ(make_backend(nullptr)->profiler(), nullptr);
  const std::string off;
  EXPECT_EQ(make_backend(&off)->profiler(), nullptr);
}

TEST_F(OpProfilerTest, CountsEveryOpByOpAndDTypeAcrossSynchronisations) {
  const fs::path file = dir() / "profile.txt";
  {
    g_lines.clear();
    set_log_sink(&capture);
    auto be = make_profiled_backend(file);
    ASSERT_NE(be->profiler(), nullptr);
    EXPECT_EQ(be->profiler()->file(), file);
    const Tensor a = be->empty({64, 32}, DType::f32), b = be->empty({32, 48}, DType::f32);
    const Tensor c = be->empty({64, 48}, DType::f32);
    for (const Tensor& t : {a, b, c}) be->run(ops::fill, ops::FillArgs{t, 0.5});
    be->run(ops::gemm, ops::GemmArgs{a, b, c});
    be->synchronize();
    be->run(ops::gemm, ops::GemmArgs{a, b, c, false, false, 1.0, 1.0});
    be->run(ops::fill, ops::FillArgs{a, 0.25});
    const Tensor a16 = be->empty({128, 64}, DType::bf16), b16 = be->empty({64, 96}, DType::bf16);
    const Tensor c16 = be->empty({128, 96}, DType::bf16);
    for (const Tensor& t : {a16, b16, c16}) be->run(ops::fill, ops::FillArgs{t, 0.5});
    be->run(ops::gemm, ops::GemmArgs{a16, b16, c16});
    be->synchronize();
    EXPECT_FALSE(fs::exists(file)) << "written only when the backend is destroyed";
  }
  set_log_sink(nullptr);
  ASSERT_TRUE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  const std::string text = read_text(file);
  EXPECT_EQ(text.rfind("Per-op GPU time on cuda:", 0), 0u) << text;
  const std::vector<Row> rows = table_rows(text);
  const std::map<std::pair<std::string, std::string>, long long> expected = {
      {{"fill", "f32"}, 4}, {{"gemm", "f32"}, 2}, {{"fill", "bf16"}, 3}, {{"gemm", "bf16"}, 1}};
  EXPECT_EQ(calls_by_op(rows), expected) << text;
  ASSERT_EQ(rows.size(), expected.size()) << "one row per (op, dtype)\n" << text;
  double share = 0.0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    EXPECT_GE(r.total_ms, 0.0) << r.op << " " << r.dtype;
    // total ms has 3 decimals, mean µs 2: the mean from the total is off by 0.5 µs / calls at most.
    EXPECT_NEAR(r.mean_us, 1e3 * r.total_ms / static_cast<double>(r.calls),
                0.5 / static_cast<double>(r.calls) + 0.01)
        << r.op;
    if (i > 0) {
      EXPECT_GE(rows[i - 1].total_ms, r.total_ms) << "sorted by total time, most first\n" << text;
    }
    share += r.share;
  }
  EXPECT_NEAR(share, 100.0, 0.05) << text;
  // The destructor's log names the file and the slowest ops.
  bool named_file = false, listed_gemm = false;
  for (const std::string& line : g_lines) {
    named_file = named_file || line.find(file.string()) != std::string::npos;
    listed_gemm = listed_gemm || line.find("gemm") != std::string::npos;
  }
  EXPECT_TRUE(named_file && listed_gemm) << "log lines: " << g_lines.size();
}

// Events come from a pool: after a synchronize() every event is free again, so a round that needs no more
// than the pool holds creates none. A long gemm ahead of many small ops makes the pool's harvest meet
// unfinished events, which must not be mistaken for failed launches.
TEST_F(OpProfilerTest, ReusesEventsAndCountsOpsQueuedBehindALongOne) {
  const fs::path file = dir() / "many.txt";
  constexpr int kFills = 3000;
  std::int64_t second_round_fills = 0;
  {
    auto be = make_profiled_backend(file);
    const Tensor a = be->empty({8192, 8192}, DType::f64), c = be->empty({8192, 8192}, DType::f64);
    const Tensor small = be->empty({16}, DType::f32);
    be->run(ops::fill, ops::FillArgs{a, 1.0});
    be->run(ops::gemm, ops::GemmArgs{a, a, c});  // 1.1 TFLOP in f64: over 10 ms on an H100
    for (int i = 0; i < kFills; ++i) be->run(ops::fill, ops::FillArgs{small, static_cast<double>(i)});
    be->synchronize();
    const std::size_t pool = be->profiler()->event_count();
    ASSERT_GE(pool, 4u);
    ASSERT_LE(pool, 2u * (kFills + 2));
    // Two events per op: the gemm and pool / 2 - 1 fills take the whole pool.
    second_round_fills = static_cast<std::int64_t>(pool / 2) - 1;
    be->run(ops::gemm, ops::GemmArgs{a, a, c});
    for (std::int64_t i = 0; i < second_round_fills; ++i) be->run(ops::fill, ops::FillArgs{small, 1.0});
    be->synchronize();
    EXPECT_EQ(be->profiler()->event_count(), pool) << "events created after a synchronize()";
  }
  const std::vector<Row> rows = table_rows(read_text(file));
  const std::map<std::pair<std::string, std::string>, long long> expected = {
      {{"fill", "f64"}, 1}, {{"gemm", "f64"}, 2}, {{"fill", "f32"}, kFills + second_round_fills}};
  EXPECT_EQ(calls_by_op(rows), expected);
}

TEST_F(OpProfilerTest, ARelativePathIsFromTheDirectoryAtCreation) {
  const fs::path before = fs::current_path();
  fs::current_path(dir());
  std::unique_ptr<CudaBackend> be;
  try {
    const std::string relative = "relative.txt";
    be = make_backend(&relative);
  } catch (...) {
    fs::current_path(before);
    throw;
  }
  fs::current_path(before);
  const Tensor t = be->empty({8}, DType::f32);
  be->run(ops::fill, ops::FillArgs{t, 1.0});
  be.reset();
  const std::map<std::pair<std::string, std::string>, long long> expected = {{{"fill", "f32"}, 1}};
  EXPECT_EQ(calls_by_op(table_rows(read_text(dir() / "relative.txt"))), expected);
  EXPECT_FALSE(fs::exists(before / "relative.txt"));
}

TEST_F(OpProfilerTest, EachRankOfASeveralRankLaunchWritesItsOwnFile) {
  ::setenv("OMPI_COMM_WORLD_RANK", "3", 1);
  ::setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  const fs::path file = dir() / "p.txt";
  std::unique_ptr<CudaBackend> be;
  try {
    be = make_profiled_backend(file);
  } catch (...) {
    ::unsetenv("OMPI_COMM_WORLD_RANK");
    ::unsetenv("OMPI_COMM_WORLD_SIZE");
    throw;
  }
  ::unsetenv("OMPI_COMM_WORLD_RANK");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(be->profiler()->file(), dir() / "p.rank-3.txt");
  be.reset();
  EXPECT_TRUE(fs::exists(dir() / "p.rank-3.txt"));
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(OpProfilerTest, RefusesAFileInADirectoryThatDoesNotExist) {
  const fs::path missing = dir() / "no-such-dir";
  const std::string why = creation_error((missing / "profile.txt").string());
  EXPECT_NE(why.find("key 'profile_ops'"), std::string::npos) << why;
  EXPECT_NE(why.find(missing.string() + " does not exist"), std::string::npos) << why;
}

TEST_F(OpProfilerTest, RefusesADirectory) {
  std::string why = creation_error(dir().string());
  EXPECT_NE(why.find("key 'profile_ops'"), std::string::npos) << why;
  EXPECT_NE(why.find("is a directory; give a file name"), std::string::npos) << why;
  why = creation_error(dir().string() + "/");
  EXPECT_NE(why.find("names a directory; give a file name"), std::string::npos) << why;
}

TEST_F(OpProfilerTest, RefusesAFileUnderAFile) {
  const fs::path plain = dir() / "plain";
  std::ofstream(plain) << "x";
  const std::string why = creation_error((plain / "profile.txt").string());
  EXPECT_NE(why.find(plain.string() + " is not a directory"), std::string::npos) << why;
}

}  // namespace
}  // namespace mtnlg::cuda::test
