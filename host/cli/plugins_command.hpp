#pragma once
#include <string>

#include "plugin_host/registry.hpp"

namespace mtnlg::host {

// `mtnlg plugins`: every loaded library (path, name, version, ABI version and fingerprint, origin) with what
// it provides, then every refused library and why.
int list_plugins(const Registry& registry);
// `mtnlg plugins --describe NAME` (or KIND/NAME): the component's recipe keys; for a backend also its ops.
int describe_component(const Registry& registry, const std::string& name);

}  // namespace mtnlg::host
