#pragma once
// Every plugin-provided object is a Component. The host creates components through the factories in a
// plugin's descriptor (plugin.hpp) and calls them only through the non-virtual wrappers of each interface,
// which run the plugin's virtual `do_…` method inside a guard: whatever the plugin throws arrives in the
// host as mtnlg::Error naming the component.
#include <string>
#include <string_view>

#include "mtnlg/config.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/export.hpp"

namespace mtnlg {

class Backend;
class LayerFactory;

// What a factory receives. `params` is the component's own recipe table (validated, defaults filled in);
// `recipe` is the whole resolved recipe, for shared dimensions such as model.hidden.
struct CreateArgs {
  const Table& params;
  const Table& recipe;
  Backend* backend = nullptr;  // the stage's backend, for components that allocate (layers, optimizers)
  int index = -1;              // the layer's position in the model, for layers; -1 otherwise
  const LayerFactory* layers = nullptr;  // for composite layers: creates their named children
};

class MTNLG_SDK_API Component {
 public:
  virtual ~Component();
  // "layer 'linear'" — set by the host after creation, used in error messages.
  const std::string& component_label() const { return label_; }
  void set_component_label(std::string label) { label_ = std::move(label); }

 private:
  std::string label_ = "component";
};

// Rethrows the exception in flight as mtnlg::Error prefixed with `who` ("layer 'linear': ...").
[[noreturn]] MTNLG_SDK_API void rethrow_as_error(std::string_view who);

}  // namespace mtnlg

// Runs `body` and turns anything it throws into mtnlg::Error naming the component. Used by the SDK's
// interface wrappers so that plugin authors never write try/catch for the boundary.
#define MTNLG_GUARDED(who, body)      \
  try {                               \
    body;                             \
  } catch (...) {                     \
    ::mtnlg::rethrow_as_error((who)); \
  }
