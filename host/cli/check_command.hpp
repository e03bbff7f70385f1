#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "plugin_host/registry.hpp"

namespace mtnlg::host {

// `mtnlg check RECIPE [--set k=v]... [--world N] [--print]`: resolves and validates the recipe, instantiates
// this rank's stage on the meta backend (no memory, no math) and prints a summary: layers, parameters, batch
// split, the schedule's stream and the memory one step allocates. Then the pipeline of a `world`-rank launch:
// its layout, and every stage's stream simulated together, which proves the schedule matches every send with
// a receive and cannot deadlock, and gives each stage's in-flight micro-batches and the bubble. With `print`,
// the resolved recipe as TOML instead.
int check_recipe(Registry& registry, const std::filesystem::path& file,
                 const std::vector<std::string>& overrides, bool print, int world = 1);

}  // namespace mtnlg::host
