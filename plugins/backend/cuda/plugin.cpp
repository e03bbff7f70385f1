// The cuda backend plugin's entry point: its one component and the recipe keys it accepts (see README.md).
// The module loads on any machine (it links the CUDA runtime, never the driver); the component reports itself
// unavailable where there is no GPU, and `mtnlg plugins` says why.
#include "mtnlg/plugin.hpp"

#include "cuda_backend.hpp"

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

}  // namespace

MTNLG_PLUGIN("cuda-backend", "0.1.0",
             mtnlg::component<mtnlg::cuda::CudaBackend>(
                 "cuda", "NVIDIA GPU backend: cuBLAS GEMM, fused CUDA kernels, f32/f64/bf16/f16", kCudaKeys));
