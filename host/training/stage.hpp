#pragma once
// One rank's part of the training graph, composed from a resolved recipe: its backend, the layers of its
// pipeline stage (one chunk per virtual stage), the schedule, optimizer and reader, and the engine that runs
// them. Members are declared so that destruction runs in reverse dependency order: the engine (which holds
// tensors) first, the backend last.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/config.hpp"
#include "plugin_host/registry.hpp"
#include "training/layer_factory.hpp"
#include "training/topology.hpp"

namespace mtnlg::host {

struct StageOptions {
  std::string backend_override;  // e.g. "meta" for `mtnlg check`; empty: the recipe's [backend]
  // A reader component created (with no keys) instead of the recipe's, for the meta backend, which needs only
  // the shapes of a micro-batch: `check` and `plan` run a recipe whose data is elsewhere. Empty: the
  // recipe's.
  std::string reader_override;
  Table reader_override_params;  // its keys, complete (defaults are not filled in)
  bool inference = false;        // no optimizer (nor its state) and no reader: for generation
  // This rank's place in the layout; absent: rank 0 of a world of exactly tensor × pipeline × max(data, 1).
  std::optional<Topology> topology;
  EngineGroups groups;  // the communicator's process groups (none for one rank)
};

class Stage {
 public:
  Stage(const Table& recipe, const Registry& registry, const StageOptions& options = {});

  Engine& engine() { return *engine_; }
  Backend& backend() { return *backend_; }
  Optimizer* optimizer() { return optimizer_.get(); }
  const Topology& topology() const { return topology_; }
  // This rank's layers (all chunks, in model order) and their positions in the model.
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  const std::vector<int>& layer_indices() const { return layer_indices_; }
  // Every layer's parameter declarations, whole model, in order: the single-rank layout of a checkpoint.
  const std::vector<std::vector<ParamSpec>>& model_params() const { return model_params_; }
  int micro_batches() const { return micro_batches_; }  // per data-parallel rank, at the full global batch
  // Which pipeline stage runs model layer `index`.
  int stage_of_layer(int index) const { return stage_of_layer_.at(index); }

 private:
  Topology topology_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<RegistryLayerFactory> layer_factory_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<int> layer_indices_;
  std::vector<std::vector<ParamSpec>> model_params_;
  std::vector<int> stage_of_layer_;
  std::unique_ptr<Schedule> schedule_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Reader> reader_;
  int micro_batches_ = 1;
  std::unique_ptr<Engine> engine_;
};

}  // namespace mtnlg::host
