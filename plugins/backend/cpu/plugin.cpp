// The cpu backend plugin's entry point: its one component and the recipe keys it accepts (see README.md).
#include "mtnlg/plugin.hpp"

#include "cpu_backend.hpp"

namespace {

const mtnlg_key_spec kCpuKeys[] = {
    {"threads", MTNLG_KEY_INT, "0",
     "threads for kernels and OpenBLAS, the caller included; 0 = one per hardware thread", nullptr},
    {"deferred", MTNLG_KEY_BOOL, "false",
     "run submitted work on a worker thread only at synchronize(), so a missing synchronize() is a wrong "
     "result",
     nullptr},
    {"profile", MTNLG_KEY_BOOL, "false",
     "time every op's kernel and log a table by op (calls, total ms, %) when the backend is destroyed",
     nullptr},
};

}  // namespace

MTNLG_PLUGIN("cpu-backend", "0.1.0",
             mtnlg::component<mtnlg::cpu::CpuBackend>(
                 "cpu", "reference CPU backend: OpenBLAS GEMM, deterministic threaded kernels, f32/f64",
                 kCpuKeys));
