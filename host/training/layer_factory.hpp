#pragma once
// The host's side of mtnlg::LayerFactory: composite layers (a transformer block) create their named children
// (norm, attention, MLP) through the registry, with the child's keys validated like a recipe table.
#include <deque>
#include <memory>

#include "mtnlg/layer.hpp"
#include "plugin_host/registry.hpp"

namespace mtnlg::host {

class RegistryLayerFactory final : public LayerFactory {
 public:
  RegistryLayerFactory(const Registry& registry, const Table& recipe, Backend* backend)
      : registry_(registry), recipe_(recipe), backend_(backend) {}

  std::unique_ptr<Layer> create_layer(std::string_view component, const Table& params, int index,
                                      std::string_view label) const override;

 private:
  const Registry& registry_;
  const Table& recipe_;
  Backend* backend_;
  // The validated tables children were created from: a component may keep referring to its table.
  mutable std::deque<Table> tables_;
};

}  // namespace mtnlg::host
