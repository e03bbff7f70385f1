// The cuda backend plugin's entry point: its one component and the recipe keys it accepts (see README.md).
// The implementation (CudaBackend, cuBLAS, the kernels) is the module mtnlg-backend-cuda-impl.so next to this
// one (plugin_impl.cpp), loaded only where the NVIDIA driver is (mtnlg/deferred_plugin.hpp says why); without
// one the component reports itself unavailable, and `mtnlg plugins` says why.
#include "mtnlg/plugin.hpp"
#include "mtnlg/deferred_plugin.hpp"

namespace {

const mtnlg_key_spec kCudaKeys[] = {
    {"device", MTNLG_KEY_INT, "-1",
     "CUDA device index; -1 = the node-local rank (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID) modulo the "
     "visible devices",
     nullptr},
    {"tf32", MTNLG_KEY_BOOL, "false",
     "run f32 GEMMs on tensor cores in TF32 (about 1e-3 relative error instead of 1e-6; much faster)",
     nullptr},
    {"attention", MTNLG_KEY_STRING, "\"tensor_cores\"",
     "kernels of the fused bf16/f16 attention: tensor_cores (WMMA, f32 accumulation) or simt (f32 "
     "arithmetic on CUDA cores; slower); f32 and f64 always run simt",
     nullptr},
    {"profile_ops", MTNLG_KEY_STRING, "\"\"",
     "file for the per-op GPU time (CUDA events around every op; a table by op and dtype, written when the "
     "backend is destroyed; a relative path is from the current directory); \"\" = off",
     nullptr},
};

struct CudaBackendModule {
  static constexpr const char* kKind = "backend";
  static constexpr const char* kName = "cuda";
  static constexpr const char* kModule = "mtnlg-backend-cuda-impl.so";
  static constexpr const char* kDriver = "libcuda.so.1";
  static constexpr const char* kNoDriver = "no usable CUDA device: this machine has no NVIDIA driver or GPU";
};

}  // namespace

MTNLG_PLUGIN("cuda-backend", "0.1.0",
             mtnlg::deferred::component<CudaBackendModule>(
                 "NVIDIA GPU backend: cuBLAS GEMM, fused CUDA kernels, f32/f64/bf16/f16", kCudaKeys))
