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
// the resolved recipe as TOML instead. For a world of more than one rank, every (tensor, pipeline) rank's part
// of the graph is instantiated on the meta backend, tensor-parallel ranks of a stage must hold the same
// shapes, and one training step of each stage gives its peak memory. `no_data`: a synthetic stand-in reader
// instead of the recipe's (whose data may be elsewhere, or placeholders).
int check_recipe(Registry& registry, const std::filesystem::path& file,
                 const std::vector<std::string>& overrides, bool print, int world = 1, bool no_data = false);

}  // namespace mtnlg::host
