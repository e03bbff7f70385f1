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
};

}  // namespace

MTNLG_PLUGIN("cuda-backend", "0.1.0",
             mtnlg::component<mtnlg::cuda::CudaBackend>(
                 "cuda", "NVIDIA GPU backend: cuBLAS GEMM, fused CUDA kernels, f32/f64/bf16/f16", kCudaKeys));
