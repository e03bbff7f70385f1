#include "op_profiler.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "mtnlg/error.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

#include "cuda_status.hpp"

namespace mtnlg::cuda {

namespace {

namespace fs = std::filesystem;

// How many of the slowest ops the destructor logs; the file has them all.
constexpr std::size_t kLoggedRows = 10;

// The launcher's rank when it started several processes (mpirun, srun), else -1: ranks given one recipe
// must not write (and rename over) one file.
int launched_rank() {
  const std::pair<const char*, const char*> vars[] = {{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                                      {"PMI_RANK", "PMI_SIZE"},
                                                      {"SLURM_PROCID", "SLURM_NTASKS"}};
  for (const auto& [rank, size] : vars) {
    const char* r = std::getenv(rank);
    const char* n = std::getenv(size);
    if (r != nullptr && *r != '\0' && n != nullptr && std::atoi(n) > 1) return std::atoi(r);
  }
  return -1;
}

// The absolute file the profile goes to; refuses a path whose directory is missing or not writable now,
// before any training, rather than when the backend is destroyed.
fs::path output_file(const std::string& file, const std::string& origin) {
  const std::string what = str(origin, " is \"", file, "\": ");
  std::error_code ec;
  fs::path path = fs::absolute(fs::path(file), ec).lexically_normal();
  MTNLG_CHECK(!ec, str(what, "cannot make it absolute: ", ec.message()));
  MTNLG_CHECK(path.has_filename(), str(what, "it names a directory; give a file name"));
  const fs::path dir = path.parent_path();
  const fs::file_status dir_status = fs::status(dir, ec);
  MTNLG_CHECK(fs::exists(dir_status),
              str(what, "directory ", dir.string(), " does not exist; create it or name another file"));
  MTNLG_CHECK(fs::is_directory(dir_status), str(what, dir.string(), " is not a directory"));
  MTNLG_CHECK(!fs::is_directory(fs::status(path, ec)),
              str(what, path.string(), " is a directory; give a file name"));
  MTNLG_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0,
              str(what, "directory ", dir.string(), " is not writable: ", std::strerror(errno)));
  if (const int rank = launched_rank(); rank >= 0)
    path.replace_filename(str(path.stem().string(), ".rank-", rank, path.extension().string()));
  return path;
}

// snprintf into a string: the SDK has no formatting library and GCC 12 no <format>.
std::string printf_str(const char* pattern, auto... values) {
  char line[256];
  std::snprintf(line, sizeof line, pattern, values...);
  return line;
}

}  // namespace

OpProfiler::OpProfiler(const std::string& file, const std::string& origin, std::string device_label,
                       int device)
    : file_(output_file(file, origin)), device_label_(std::move(device_label)), device_(device) {}

// Teardown never throws: events of a lost device have no one left to report to.
OpProfiler::~OpProfiler() {
  for (cudaEvent_t event : owned_) cudaEventDestroy(event);
}

cudaEvent_t OpProfiler::take_event() {
  if (!free_.empty()) {
    const cudaEvent_t event = free_.back();
    free_.pop_back();
    return event;
  }
  owned_.reserve(owned_.size() + 1);  // so that the push below cannot throw and leak the new event
  cudaEvent_t event = nullptr;
  MTNLG_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDefault), device_);
  owned_.push_back(event);
  return event;
}

OpProfiler::Span OpProfiler::start(const char* op, DType dtype, cudaStream_t stream) {
  const std::lock_guard lock(mutex_);
  if (free_.size() < 2) harvest_finished();
  Span span;
  span.op = op;
  span.dtype = dtype;
  span.begin = take_event();
  span.end = take_event();
  MTNLG_CUDA_CHECK(cudaEventRecord(span.begin, stream), device_);
  return span;
}

void OpProfiler::stop(const Span& span, cudaStream_t stream) {
  const std::lock_guard lock(mutex_);
  MTNLG_CUDA_CHECK(cudaEventRecord(span.end, stream), device_);
  pending_.push_back(span);
}

void OpProfiler::harvest_finished() {
  while (!pending_.empty()) {
    const cudaError_t status = cudaEventQuery(pending_.front().end);
    if (status == cudaErrorNotReady) {
      // Not an error, but the runtime may keep it as the thread's last error, which the op's own
      // check_launch (cudaGetLastError) would then report as a failed launch.
      cudaGetLastError();
      return;
    }
    check_cuda(status, "cudaEventQuery(end)", device_);
    const Span span = pending_.front();
    pending_.pop_front();
    account(span);
  }
}

void OpProfiler::account(const Span& span) {
  float ms = 0.0f;
  MTNLG_CUDA_CHECK(cudaEventElapsedTime(&ms, span.begin, span.end), device_);
  auto it = totals_.find(std::string_view(span.op));
  if (it == totals_.end())
    it = totals_.emplace(std::string(span.op), std::array<Totals, kDTypeCount>{}).first;
  Totals& totals = it->second[static_cast<std::size_t>(span.dtype)];
  ++totals.calls;
  totals.ms += ms;
  free_.push_back(span.begin);
  free_.push_back(span.end);
}

void OpProfiler::resolve() {
  const std::lock_guard lock(mutex_);
  while (!pending_.empty()) {
    // Off the queue first: a span CUDA refuses to time is dropped, not retried at every synchronize().
    const Span span = pending_.front();
    pending_.pop_front();
    account(span);
  }
}

std::size_t OpProfiler::event_count() const {
  const std::lock_guard lock(mutex_);
  return owned_.size();
}

std::vector<OpProfiler::Row> OpProfiler::rows() const {
  std::vector<Row> out;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [op, by_dtype] : totals_)
      for (int d = 0; d < kDTypeCount; ++d)
        if (by_dtype[d].calls > 0)
          out.push_back({op, static_cast<DType>(d), by_dtype[d].calls, by_dtype[d].ms});
  }
  std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) { return a.ms > b.ms; });
  return out;
}

std::string OpProfiler::table() const {
  const std::vector<Row> rows = this->rows();
  double total_ms = 0.0;
  std::int64_t calls = 0;
  for (const Row& r : rows) total_ms += r.ms, calls += r.calls;
  std::string text =
      str("Per-op GPU time on ", device_label_, ": ", calls, " op calls, ", printf_str("%.3f", total_ms),
          " ms in all (each op: the stream's time from its first to its last kernel)\n\n");
  text += "| op | dtype | calls | total ms | mean µs | share % |\n";
  text += "| --- | --- | ---: | ---: | ---: | ---: |\n";
  for (const Row& r : rows)
    text +=
        printf_str("| %s | %s | %lld | %.3f | %.2f | %.2f |\n", r.op.c_str(),
                   std::string(dtype_name(r.dtype)).c_str(), static_cast<long long>(r.calls), r.ms,
                   1e3 * r.ms / static_cast<double>(r.calls), total_ms > 0.0 ? 100.0 * r.ms / total_ms : 0.0);
  return text;
}

void OpProfiler::write_report() noexcept {
  try {
    resolve();
  } catch (const std::exception& e) {
    try {
      log_warn("cuda backend: profile_ops: some op times are lost: ", e.what());
    } catch (...) {
    }
  }
  const fs::path tmp = fs::path(file_.string() + ".tmp");
  try {
    const std::string text = table();
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
      out.close();
      MTNLG_CHECK(out.good(), str("cannot write ", tmp.string()));
    }
    fs::rename(tmp, file_);
    const std::vector<Row> rows = this->rows();
    double total_ms = 0.0;
    for (const Row& r : rows) total_ms += r.ms;
    log_info("cuda backend: per-op GPU time in ", file_.string(), "; ", printf_str("%.1f", total_ms),
             " ms profiled, the slowest ops:");
    for (std::size_t i = 0; i < rows.size() && i < kLoggedRows; ++i) {
      const Row& r = rows[i];
      log_info(printf_str("  %-28s %-5s %5.1f%% %10.1f ms %9lld calls %9.1f us each", r.op.c_str(),
                          std::string(dtype_name(r.dtype)).c_str(),
                          total_ms > 0.0 ? 100.0 * r.ms / total_ms : 0.0, r.ms,
                          static_cast<long long>(r.calls), 1e3 * r.ms / static_cast<double>(r.calls)));
    }
  } catch (const std::exception& e) {
    try {
      log_warn("cuda backend: profile_ops: the profile was not written to ", file_.string(), ": ", e.what());
    } catch (...) {
    }
    std::error_code ignored;
    fs::remove(tmp, ignored);
  } catch (...) {
  }
}

}  // namespace mtnlg::cuda
