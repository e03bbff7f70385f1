#pragma once
// Holds a CUDA stream busy: the comm/nccl tests' stand-in for a long kernel on the backend's stream.
#include <cuda_runtime_api.h>

namespace mtnlg::comm::test {

// Queues on `stream` one kernel that spins on the GPU's nanosecond timer for `milliseconds`, so that work
// queued after it waits and queries of the stream (and of events recorded after it) report not ready
// meanwhile. A host function (cudaLaunchHostFunc) that sleeps was not enough: on the lent H200,
// cudaStreamQuery said such a stream was idle while the function still slept. Returns the launch's status.
cudaError_t hold_stream(cudaStream_t stream, int milliseconds);

}  // namespace mtnlg::comm::test
