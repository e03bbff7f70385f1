#include "host_allocator.hpp"

#include <algorithm>
#include <cstdlib>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::cpu {

std::shared_ptr<Storage> HostAllocator::allocate(std::size_t bytes) {
  // aligned_alloc wants a multiple of the alignment; a 0-byte request still gets a real, unique block so that
  // data() is never null on the cpu device (null means "meta").
  const std::size_t padded = std::max<std::size_t>(1, (bytes + kAlignment - 1) / kAlignment) * kAlignment;
  MTNLG_CHECK(padded >= bytes, str("allocation of ", bytes, " bytes overflows"));
  void* data = std::aligned_alloc(kAlignment, padded);
  MTNLG_CHECK(data != nullptr,
              str("out of host memory allocating ", bytes, " bytes (", ledger_->stats().current_bytes,
                  " bytes live); lower the batch size or the model size"));
  ledger_->allocated(bytes);
  // The callback holds the ledger, not the allocator: the backend may be gone when the last view dies.
  return std::make_shared<Storage>(data, bytes, Device{DeviceKind::cpu, 0},
                                   [ledger = ledger_](void* p, std::size_t n) {
                                     std::free(p);
                                     ledger->released(n);
                                   });
}

}  // namespace mtnlg::cpu
