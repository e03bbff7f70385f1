#include "mtnlg/backend.hpp"

#include <algorithm>

#include "mtnlg/str.hpp"

namespace mtnlg {

namespace {
std::string supported_dtypes(const ErasedKernel (&kernels)[kDTypeCount]) {
  std::string out;
  for (int i = 0; i < kDTypeCount; ++i)
    if (kernels[i] != nullptr)
      out += (out.empty() ? "" : ", ") + std::string(dtype_name(static_cast<DType>(i)));
  return out;
}
}  // namespace

void OpTable::add_erased(std::string name, std::initializer_list<DType> dtypes, ErasedKernel kernel) {
  Entry& e = entries_[name];
  for (DType t : dtypes) {
    ErasedKernel& slot = e.kernels[static_cast<int>(t)];
    MTNLG_CHECK(slot == nullptr, str("op '", name, "' is registered twice for ", dtype_name(t)));
    slot = kernel;
  }
}

bool OpTable::supports(std::string_view op, DType dtype) const {
  const auto it = entries_.find(op);
  return it != entries_.end() && it->second.kernels[static_cast<int>(dtype)] != nullptr;
}

std::vector<std::string> OpTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_)
    out.push_back(name + " (" + supported_dtypes(entry.kernels) + ")");
  return out;
}

ErasedKernel OpTable::require(std::string_view op, DType dtype, std::string_view backend_label) const {
  const auto it = entries_.find(op);
  if (it == entries_.end()) {
    std::string known;
    for (const auto& [name, entry] : entries_) known += (known.empty() ? "" : ", ") + name;
    fail(str(backend_label, " has no op '", op, "'; it provides: ", known));
  }
  const ErasedKernel kernel = it->second.kernels[static_cast<int>(dtype)];
  if (kernel == nullptr)
    fail(str(backend_label, " does not support op '", op, "' for ", dtype_name(dtype),
             "; it supports: ", supported_dtypes(it->second.kernels)));
  return kernel;
}

void AllocLedger::allocated(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  stats_.current_bytes += bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
  stats_.total_bytes += bytes;
  stats_.allocations += 1;
}

void AllocLedger::released(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  stats_.current_bytes -= bytes;
}

AllocStats AllocLedger::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

Backend::~Backend() = default;

Tensor Backend::empty(Shape shape, DType dtype) {
  const std::size_t bytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  std::shared_ptr<Storage> storage;
  MTNLG_GUARDED(component_label(), storage = do_allocate(bytes));
  return Tensor(std::move(storage), std::move(shape), dtype);
}

void Backend::upload(const Tensor& dst, const void* src) {
  MTNLG_CHECK(dst.is_contiguous(),
              component_label() + ": upload into a non-contiguous tensor " + dst.describe());
  MTNLG_GUARDED(component_label(), do_upload(dst, src));
}

void Backend::download(void* dst, const Tensor& src) {
  MTNLG_CHECK(src.is_contiguous(),
              component_label() + ": download from a non-contiguous tensor " + src.describe());
  MTNLG_GUARDED(component_label(), do_download(dst, src));
}

void Backend::synchronize() {
  MTNLG_GUARDED(component_label(), do_synchronize());
}

AllocStats Backend::alloc_stats() const {
  AllocStats stats;
  MTNLG_GUARDED(component_label(), stats = do_alloc_stats());
  return stats;
}

void Backend::submit(std::function<void(ExecContext&)> work) {
  MTNLG_GUARDED(component_label(), do_submit(std::move(work)));
}

}  // namespace mtnlg
