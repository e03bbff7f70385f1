#pragma once
// How this process was launched: the world size mpirun or srun gave it, and the communicator the recipe names
// for it. Shared by every command that runs on many ranks (train, eval, generate).
#include <memory>

#include "mtnlg/communicator.hpp"
#include "mtnlg/config.hpp"
#include "plugin_host/registry.hpp"

namespace mtnlg::host {

// The world size mpirun (or srun) launched us with; 1 when run directly.
int world_from_environment();

// The communicator parallel.communicator names (validated with the recipe), for a job of more than one rank;
// null for one rank. It gets the whole recipe: comm/nccl picks its GPU from [backend] as the cuda backend
// does.
std::unique_ptr<Communicator> make_communicator(const Registry& registry, const Table& recipe, int world);

}  // namespace mtnlg::host
