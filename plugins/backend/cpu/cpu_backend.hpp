#pragma once
// The reference CPU backend: host memory, OpenBLAS GEMM, and kernels parallelised over a fixed-partition
// thread pool so that results are bitwise reproducible whatever the thread count. Every other backend is
// checked against it. With `deferred = true` its stream runs on a worker thread only at synchronize(), so a
// missing synchronize() shows up in CPU tests the way it would on a GPU.
//
// Recipe keys (declared in plugin.cpp, documented in README.md): threads (int, 0 = all hardware threads),
// deferred (bool), profile (bool: time each op, log the table when the backend is destroyed).
#include <memory>

#include "mtnlg/backend.hpp"
#include "mtnlg/component.hpp"

#include "deferred_stream.hpp"
#include "host_allocator.hpp"
#include "op_profile.hpp"
#include "thread_pool.hpp"

namespace mtnlg::cpu {

class CpuBackend final : public Backend {
 public:
  // args.params holds the validated keys `threads` and `deferred` (the host fills in defaults; a test that
  // constructs the backend directly must set both) and optionally `profile` (absent = false). Throws
  // mtnlg::Error for an invalid value.
  explicit CpuBackend(const CreateArgs& args);
  ~CpuBackend() override;

  Device device() const override { return {DeviceKind::cpu, 0}; }

  // The pool kernels parallelise over (it includes the calling thread).
  ThreadPool& pool() { return pool_; }
  int threads() const { return pool_.size(); }
  bool deferred() const { return stream_ != nullptr; }
  // The per-op timings, or null when the backend was created without `profile = true`.
  OpProfile* profile() { return profile_.get(); }

 protected:
  std::shared_ptr<Storage> do_allocate(std::size_t bytes) override;
  void do_upload(const Tensor& dst, const void* src) override;
  void do_download(void* dst, const Tensor& src) override;
  void do_submit(std::function<void(ExecContext&)> work) override;
  void do_synchronize() override;
  AllocStats do_alloc_stats() const override;

 private:
  HostAllocator allocator_;
  ThreadPool pool_;
  std::unique_ptr<OpProfile> profile_;
  std::unique_ptr<DeferredStream> stream_;  // null in immediate mode; declared last so it stops first
};

// The pool of the backend a kernel runs on. Kernels registered by CpuBackend only ever run on one.
inline ThreadPool& pool_of(ExecContext& ctx) {
  return static_cast<CpuBackend&>(ctx.backend).pool();
}

}  // namespace mtnlg::cpu
