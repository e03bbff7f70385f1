// The comm/nccl plugin's entry point: one component, communicator `nccl`, with no recipe keys (see
// README.md). The implementation (NcclCommunicator, the CUDA runtime, NCCL) is the module
// mtnlg-comm-nccl-impl.so next to this one (plugin_impl.cpp), loaded only where the NVIDIA driver is
// (mtnlg/deferred_plugin.hpp says why); without one the component reports itself unavailable, and
// `mtnlg plugins` says why.
#include "mtnlg/plugin.hpp"
#include "mtnlg/deferred_plugin.hpp"

namespace {

struct NcclModule {
  static constexpr const char* kKind = "communicator";
  static constexpr const char* kName = "nccl";
  static constexpr const char* kModule = "mtnlg-comm-nccl-impl.so";
  static constexpr const char* kDriver = "libcuda.so.1";
  static constexpr const char* kNoDriver =
      "no usable CUDA device: this machine has no NVIDIA driver or GPU (parallel.communicator = \"mpi\" runs "
      "without one)";
};

}  // namespace

MTNLG_PLUGIN("comm-nccl", "0.1.0",
             mtnlg::deferred::component<NcclModule>(
                 "NCCL: collectives and point-to-point on CUDA device tensors, overlapped with compute"))
