#include "training/launch.hpp"

#include <algorithm>
#include <cstdlib>

#include "mtnlg/str.hpp"

namespace mtnlg::host {

int world_from_environment() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  return 1;
}

std::unique_ptr<Communicator> make_communicator(const Registry& registry, const Table& recipe, int world) {
  if (world == 1) return nullptr;
  const Value& name = *recipe.find_path("parallel.communicator");
  const ComponentRecord& record = registry.require("communicator", name.as_string(), name.pos);
  const Table no_params;
  auto comm = registry.create_as<Communicator>(record, CreateArgs{no_params, recipe});
  MTNLG_CHECK(comm->size() == world, str("the environment says ", world, " ranks but communicator '",
                                         record.name, "' has ", comm->size()));
  return comm;
}

}  // namespace mtnlg::host
