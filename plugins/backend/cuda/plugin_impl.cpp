// The cuda backend's implementation module, mtnlg-backend-cuda-impl.so: the component the plugin
// (plugin.cpp) forwards to once it has found the NVIDIA driver. It links the CUDA runtime, cuBLAS and
// cuBLASLt; the recipe keys are declared by the plugin.
#include "mtnlg/plugin.hpp"

#include "cuda_backend.hpp"

MTNLG_PLUGIN("cuda-backend-impl", "0.1.0",
             mtnlg::component<mtnlg::cuda::CudaBackend>("cuda", "the cuda backend's implementation"))
