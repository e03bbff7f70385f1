// The comm/nccl plugin's entry point: one component, communicator `nccl`, with no recipe keys (see
// README.md). The module loads on any machine (it links the CUDA runtime and NCCL, never the driver); the
// component reports itself unavailable where there is no GPU, and `mtnlg plugins` says why.
#include "mtnlg/plugin.hpp"

#include "nccl_communicator.hpp"

MTNLG_PLUGIN("comm-nccl", "0.1.0",
             mtnlg::component<mtnlg::comm::NcclCommunicator>(
                 "nccl",
                 "NCCL: collectives and point-to-point on CUDA device tensors, overlapped with compute"))
