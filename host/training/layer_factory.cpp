#include "training/layer_factory.hpp"

#include "mtnlg/str.hpp"
#include "recipe/validate.hpp"

namespace mtnlg::host {

std::unique_ptr<Layer> RegistryLayerFactory::create_layer(std::string_view component, const Table& params,
                                                          int index, std::string_view label) const {
  const ComponentRecord& record = registry_.require(Layer::kKind, component, params.pos);
  Table& validated = tables_.emplace_back(params);
  recipe::validate_table(validated, str(label, " (layer '", component, "')"), record.keys);
  auto layer = registry_.create_as<Layer>(record, CreateArgs{validated, recipe_, backend_, index, this});
  layer->set_component_label(std::string(label));
  return layer;
}

}  // namespace mtnlg::host
