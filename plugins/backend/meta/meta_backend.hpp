#pragma once
// The meta backend: shapes and allocation accounting, no memory and no math. It instantiates any recipe, the
// 530B model included, on any machine, for `mtnlg check` and the memory planner. Its AllocStats follow the
// CPU backend's rules exactly (every allocation counts its requested bytes, zero included; a release
// subtracts them), so a graph built on both reports the same numbers. Ops check their arguments as the CPU
// kernels do.
#include <memory>
#include <mutex>

#include "mtnlg/backend.hpp"
#include "mtnlg/component.hpp"

namespace mtnlg::meta {

class MetaBackend final : public Backend {
 public:
  // No keys: args is accepted for the factory's sake and ignored.
  explicit MetaBackend(const CreateArgs& args);
  ~MetaBackend() override;

  Device device() const override { return {DeviceKind::meta, 0}; }

 protected:
  // A Storage with data() == nullptr and the requested byte count.
  std::shared_ptr<Storage> do_allocate(std::size_t bytes) override;
  void do_upload(const Tensor& dst, const void* src) override;
  void do_download(void* dst, const Tensor& src) override;
  // Drops the work: it could only dereference the null data of meta tensors (Backend::run has already checked
  // the arguments of standard ops).
  void do_submit(std::function<void(ExecContext&)> work) override;
  void do_synchronize() override {}
  AllocStats do_alloc_stats() const override;

 private:
  // Shared with every Storage's release callback, so tensors may outlive the backend.
  std::shared_ptr<AllocLedger> ledger_ = std::make_shared<AllocLedger>();
};

// The op table of the meta backend: every standard op, for the dtypes the CPU backend supports.
void register_meta_kernels(OpTable& table);  // meta_kernels.cpp

}  // namespace mtnlg::meta
