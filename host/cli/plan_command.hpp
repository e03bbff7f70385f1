#pragma once
// `mtnlg plan RECIPE --cluster NAME --nodes N [--set ...] [--assume KEY=VALUE ...] [--json OUT]`: memory per
// pipeline stage against the GPU's, and iteration time and TFLOP/s per GPU, with every assumption printed.
#include <filesystem>
#include <string>
#include <vector>

#include "plugin_host/registry.hpp"

namespace mtnlg::host {

struct PlanOptions {
  std::filesystem::path recipe;
  std::vector<std::string> overrides;  // --set
  std::string cluster;                 // a stock name or a file
  int nodes = 1;
  int gpus = 0;                          // 0: every GPU of the nodes
  std::vector<std::string> assumptions;  // --assume KEY=VALUE
  std::filesystem::path json;            // empty: no JSON file
};

int plan_recipe(Registry& registry, const PlanOptions& options);

}  // namespace mtnlg::host
