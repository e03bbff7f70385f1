#include "cpu_backend.hpp"

#include <cblas.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "mtnlg/error.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

constexpr std::int64_t kMaxThreads = 1024;

// Where a key was written, for error messages: " (recipes/tiny.toml:12:3)".
std::string where(const Table& params, std::string_view key) {
  const Value* v = params.find(key);
  return v ? str(" (", v->pos.str(), ")") : std::string();
}

int resolve_threads(const Table& params) {
  const std::int64_t threads = params.get_int("threads");
  MTNLG_CHECK(threads >= 0 && threads <= kMaxThreads,
              str("cpu backend: key 'threads'", where(params, "threads"), " must be between 0 and ",
                  kMaxThreads, " (0 = one per hardware thread), got ", threads));
  if (threads > 0) return static_cast<int>(threads);
  // The machine's hardware threads shared by the ranks mpirun put on this node (OpenMPI says how many), so 8
  // ranks on a 2-core laptop do not run 16 spinning threads.
  const unsigned hw = std::thread::hardware_concurrency();
  int local_ranks = 1;
  if (const char* n = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE")) local_ranks = std::max(1, std::atoi(n));
  return std::max(1, (hw == 0 ? 1 : static_cast<int>(hw)) / local_ranks);
}

}  // namespace

CpuBackend::CpuBackend(const CreateArgs& args) : pool_(resolve_threads(args.params)) {
  const bool deferred = args.params.get_bool("deferred");
  // Optional for direct constructions (tests), which predate the key; the host always fills it in.
  if (const Value* profile = args.params.find("profile"); profile != nullptr && profile->as_bool())
    profile_ = std::make_unique<OpProfile>();
  // OpenBLAS's own threads run GEMM; the setting is process-wide, so the last backend created decides it.
  openblas_set_num_threads(pool_.size());
  register_gemm_kernels(ops());
  register_elementwise_kernels(ops());
  register_reduction_kernels(ops());
  register_embedding_kernels(ops());
  register_normalization_kernels(ops());
  register_attention_kernels(ops());
  register_flash_attention_kernels(ops());
  register_loss_kernels(ops());
  register_dropout_kernels(ops());
  register_optimizer_kernels(ops());
  if (deferred) stream_ = std::make_unique<DeferredStream>(*this);
  log_debug("cpu backend: ", pool_.size(), " thread(s), ", deferred ? "deferred" : "immediate", " stream",
            profile_ ? ", profiling ops" : "");
}

// The worker must stop before the pool and the op table it uses go away; the profile is complete only then.
CpuBackend::~CpuBackend() {
  stream_.reset();
  if (profile_) {
    log_info("cpu backend profile: kernel wall time by op, ", pool_.size(), " thread(s)");
    for (const std::string& line : profile_->table()) log_info("  ", line);
  }
}

std::shared_ptr<Storage> CpuBackend::do_allocate(std::size_t bytes) {
  return allocator_.allocate(bytes);
}

namespace {
void check_host_copy(const char* what, const Tensor& t, const void* host) {
  MTNLG_CHECK(t.device().kind == DeviceKind::cpu,
              str(what, ": tensor ", t.describe(), " is not cpu memory; use the backend that allocated it"));
  MTNLG_CHECK(host != nullptr || t.nbytes() == 0, str(what, ": null host pointer for ", t.describe()));
}
}  // namespace

void CpuBackend::do_upload(const Tensor& dst, const void* src) {
  check_host_copy("upload", dst, src);
  // Copies at run time, from `src` as it is then: the contract is that src stays valid until synchronize().
  auto copy = [dst, src](ExecContext&) {
    if (dst.nbytes() > 0) std::memcpy(dst.data(), src, dst.nbytes());
  };
  do_submit(copy);
}

void CpuBackend::do_download(void* dst, const Tensor& src) {
  check_host_copy("download", src, dst);
  auto copy = [dst, src](ExecContext&) {
    if (src.nbytes() > 0) std::memcpy(dst, src.data(), src.nbytes());
  };
  do_submit(copy);
}

void CpuBackend::do_submit(std::function<void(ExecContext&)> work) {
  if (stream_) {
    stream_->push(std::move(work));
    return;
  }
  ExecContext ctx{*this, nullptr};
  work(ctx);
}

void CpuBackend::do_synchronize() {
  if (stream_) stream_->synchronize();
}

AllocStats CpuBackend::do_alloc_stats() const {
  return allocator_.stats();
}

}  // namespace mtnlg::cpu
