#include "meta_backend.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::meta {

MetaBackend::MetaBackend(const CreateArgs&) {
  register_meta_kernels(ops());
}

MetaBackend::~MetaBackend() = default;

std::shared_ptr<Storage> MetaBackend::do_allocate(std::size_t bytes) {
  ledger_->allocated(bytes);
  return std::make_shared<Storage>(nullptr, bytes, Device{DeviceKind::meta, 0},
                                   [ledger = ledger_](void*, std::size_t n) { ledger->released(n); });
}

namespace {
void check_meta_tensor(const char* what, const Tensor& t) {
  MTNLG_CHECK(
      t.device().kind == DeviceKind::meta,
      str(what, ": tensor ", t.describe(), " is not a meta tensor; use the backend that allocated it"));
}
}  // namespace

// Nothing to copy: meta tensors have no contents. The host side is never read or written.
void MetaBackend::do_upload(const Tensor& dst, const void*) {
  check_meta_tensor("upload", dst);
}
void MetaBackend::do_download(void*, const Tensor& src) {
  check_meta_tensor("download", src);
}

// Queued work is dropped: it could only dereference the null data of meta tensors. Standard ops were already
// checked by Backend::run.
void MetaBackend::do_submit(std::function<void(ExecContext&)>) {}

AllocStats MetaBackend::do_alloc_stats() const {
  return ledger_->stats();
}

}  // namespace mtnlg::meta
