#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "plugin_host/registry.hpp"

namespace mtnlg::host {

// `mtnlg check RECIPE [--set k=v]... [--print]`: resolves and validates the recipe, instantiates this rank's
// stage on the meta backend (no memory, no math) and prints a summary: layers, parameters, batch split, the
// schedule's stream and the memory one step allocates. With `print`, the resolved recipe as TOML instead.
int check_recipe(Registry& registry, const std::filesystem::path& file,
                 const std::vector<std::string>& overrides, bool print);

}  // namespace mtnlg::host
