// comm/nccl's implementation module, mtnlg-comm-nccl-impl.so: the component the plugin (plugin.cpp)
// forwards to once it has found the NVIDIA driver. It links the CUDA runtime, NCCL and MPI.
#include "mtnlg/plugin.hpp"

#include "nccl_communicator.hpp"

MTNLG_PLUGIN("comm-nccl-impl", "0.1.0",
             mtnlg::component<mtnlg::comm::NcclCommunicator>("nccl", "comm/nccl's implementation"))
