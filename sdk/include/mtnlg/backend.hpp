#pragma once
// A backend is the only thing that touches device memory and runs math. Its ops live in a table keyed by
// name (OpKey<Args>), each supporting a set of dtypes, so a new op or a third party's kernel needs no SDK
// change. Work is submitted to the backend's stream and may run later (CUDA, or the CPU backend's deferred
// mode): read results only after synchronize(), exactly as with cudaMemcpyAsync.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mtnlg/component.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg {

struct AllocStats {
  std::size_t current_bytes = 0;  // live now
  std::size_t peak_bytes = 0;     // most live at once
  std::size_t total_bytes = 0;    // sum of every allocation
  std::size_t allocations = 0;    // count of allocations
};

// Exact allocation statistics, shared by a backend and the release callback of every Storage it hands out (a
// tensor may outlive its backend, or be freed on a worker thread). Every backend counts the same way — each
// allocation adds its requested bytes, each release subtracts them — so the meta backend's accounting of a
// graph equals the real one's.
class MTNLG_SDK_API AllocLedger {
 public:
  void allocated(std::size_t bytes);
  void released(std::size_t bytes);
  AllocStats stats() const;

 private:
  mutable std::mutex mutex_;
  AllocStats stats_;
};

// Passed to every kernel: the backend it runs on and its native stream (cudaStream_t on CUDA, null on CPU).
struct ExecContext {
  Backend& backend;
  void* native_stream = nullptr;
};

// Names an op and the argument struct its kernels take. Args must be copyable (deferred work keeps a copy)
// and have `DType dtype() const`, the dtype that selects the kernel.
template <class Args>
struct OpKey {
  const char* name;
};

// The argument struct of an op key: OpArgs<ops::gemm> is GemmArgs. Lets a backend register a kernel template
// per op (`register_op<ops::gemm, &my_gemm>`) with the op's name reaching the kernel's wrapper.
template <class Key>
struct OpKeyArgs;
template <class Args>
struct OpKeyArgs<OpKey<Args>> {
  using type = Args;
};
template <const auto& Key>
using OpArgs = typename OpKeyArgs<std::remove_cvref_t<decltype(Key)>>::type;

using ErasedKernel = void (*)();

// Kernels by (op name, dtype). A backend may register one kernel for several dtypes (it dispatches itself) or
// one per dtype; registering the same (op, dtype) twice is an error.
class MTNLG_SDK_API OpTable {
 public:
  template <class Args>
  void add(const OpKey<Args>& key, std::initializer_list<DType> dtypes,
           void (*kernel)(const Args&, ExecContext&)) {
    add_erased(key.name, dtypes, reinterpret_cast<ErasedKernel>(kernel));
  }
  bool supports(std::string_view op, DType dtype) const;
  std::vector<std::string> names() const;
  // The kernel, or an error naming the backend, the op, the dtype and what the backend does support.
  ErasedKernel require(std::string_view op, DType dtype, std::string_view backend_label) const;

 private:
  void add_erased(std::string name, std::initializer_list<DType> dtypes, ErasedKernel kernel);
  struct Entry {
    ErasedKernel kernels[kDTypeCount] = {};  // null: dtype not supported
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

class MTNLG_SDK_API Backend : public Component {
 public:
  static constexpr const char* kKind = "backend";
  ~Backend() override;

  virtual Device device() const = 0;

  // A new contiguous tensor; contents undefined.
  Tensor empty(Shape shape, DType dtype);
  // Host -> device and device -> host copies, queued on the stream. `src`/`dst` must stay valid until
  // synchronize(); the tensor must be contiguous.
  void upload(const Tensor& dst, const void* src);
  void download(void* dst, const Tensor& src);
  // Waits for all queued work; rethrows the first error a queued kernel raised.
  void synchronize();
  AllocStats alloc_stats() const;

  bool supports(std::string_view op, DType dtype) const { return ops_.supports(op, dtype); }
  std::vector<std::string> op_names() const { return ops_.names(); }

  // Checks the arguments now (check_args for Args, found by argument-dependent lookup: op_checks.hpp for the
  // standard ops), then queues the op's kernel for args.dtype() on the stream.
  template <class Args>
  void run(const OpKey<Args>& key, const Args& args) {
    if constexpr (requires { check_args(key.name, args, Device{}); }) {
      MTNLG_GUARDED(component_label(), check_args(key.name, args, device()));
    }
    auto kernel = reinterpret_cast<void (*)(const Args&, ExecContext&)>(
        ops_.require(key.name, args.dtype(), component_label()));
    submit([kernel, args](ExecContext& ctx) { kernel(args, ctx); });
  }

  // Queues arbitrary work on the stream: how a third-party layer runs its own kernel.
  void submit(std::function<void(ExecContext&)> work);

 protected:
  OpTable& ops() { return ops_; }
  virtual std::shared_ptr<Storage> do_allocate(std::size_t bytes) = 0;
  virtual void do_upload(const Tensor& dst, const void* src) = 0;
  virtual void do_download(void* dst, const Tensor& src) = 0;
  virtual void do_submit(std::function<void(ExecContext&)> work) = 0;
  virtual void do_synchronize() = 0;
  virtual AllocStats do_alloc_stats() const = 0;

 private:
  OpTable ops_;
};

}  // namespace mtnlg
