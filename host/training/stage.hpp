#pragma once
// One rank's part of the training graph, composed from a resolved recipe: its backend, its layers, the
// schedule, optimizer and reader, and the engine that runs them. Members are declared so that destruction
// runs in reverse dependency order: the engine (which holds tensors) first, the backend last.
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/config.hpp"
#include "plugin_host/registry.hpp"
#include "training/layer_factory.hpp"

namespace mtnlg::host {

struct StageOptions {
  std::string backend_override;  // e.g. "meta" for `mtnlg check`; empty: the recipe's [backend]
  bool inference = false;        // no optimizer (nor its state) and no reader: for generation
};

class Stage {
 public:
  Stage(const Table& recipe, const Registry& registry, const StageOptions& options = {});

  Engine& engine() { return *engine_; }
  Backend& backend() { return *backend_; }
  Optimizer* optimizer() { return optimizer_.get(); }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  const std::vector<int>& layer_indices() const { return layer_indices_; }
  int micro_batches() const { return micro_batches_; }

 private:
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<RegistryLayerFactory> layer_factory_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<int> layer_indices_;
  std::unique_ptr<Schedule> schedule_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Reader> reader_;
  int micro_batches_ = 1;
  std::unique_ptr<Engine> engine_;
};

}  // namespace mtnlg::host
