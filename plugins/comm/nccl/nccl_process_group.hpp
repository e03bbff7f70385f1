#pragma once
// A process group of the `nccl` communicator: one NCCL communicator (split from the world's) and one CUDA
// stream of its own.
//
// Every operation first records an event on the backend's stream and makes the group's stream wait for it, so
// the operation sees everything queued before it; then it queues the NCCL call and a completion event on the
// group's stream, and the host goes on at once. Work::wait() makes the backend's stream wait for the
// completion event — the host does not block — so compute queued before the wait overlaps the operation
// (the data-parallel gradient all-reduce runs under the rest of the backward pass). Work::test() queries the
// event. A group's operations run one after another in the order they are posted; groups run concurrently.
//
// Tensors must be contiguous and in the memory of the communicator's GPU. Reductions take f32, f64, bf16,
// f16, i32 and i64; all-gather, broadcast, send and recv move any dtype as bytes.
#include <nccl.h>

#include <memory>
#include <string>
#include <vector>

#include "mtnlg/communicator.hpp"
#include "nccl_shared.hpp"

namespace mtnlg::comm::nccl {

// The group over `world_ranks` (ordered by group rank) whose NCCL communicator `comm` was just split off the
// world's; the group owns `comm` from here on, also when this throws.
std::unique_ptr<ProcessGroup> make_process_group(std::shared_ptr<Shared> shared, std::string name,
                                                 ncclComm_t comm, std::vector<int> world_ranks);

}  // namespace mtnlg::comm::nccl
