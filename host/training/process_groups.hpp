#pragma once
// The process groups of the 3D layout, split from the world by the communicator (collective: every rank
// creates them in the same order).
#include <memory>

#include "engine/engine.hpp"
#include "mtnlg/communicator.hpp"
#include "training/topology.hpp"

namespace mtnlg::host {

struct ProcessGroups {
  std::unique_ptr<ProcessGroup> tensor, data, pipeline, embedding, world;

  static ProcessGroups create(Communicator& comm, const Topology& topology);
  EngineGroups view() const {
    return {tensor.get(), data.get(), pipeline.get(), embedding.get(), world.get()};
  }
};

}  // namespace mtnlg::host
