#pragma once
// One number reduced over a process group (a loss, a flag, a signal): in the backend's memory, because a
// device communicator (comm/nccl) moves device tensors only. A null group or one of size 1 returns `value`.
#include "mtnlg/backend.hpp"
#include "mtnlg/communicator.hpp"

namespace mtnlg::host {

double all_reduce_scalar(ProcessGroup* group, Backend& backend, double value, ReduceOp op);

}  // namespace mtnlg::host
