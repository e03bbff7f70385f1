#pragma once
// The recipe's shape as the host sees it: the sections the host owns ([model], [train], [parallel],
// [plugins]) and the component slots whose keys come from the chosen plugin ([backend], [optimizer],
// [reader], [schedule], each [[model.stack]] entry). Validation is strict: unknown keys, wrong types and
// missing required keys are errors at file:line:col (or at the --set that caused them).
#include <filesystem>
#include <string>
#include <vector>

#include "mtnlg/config.hpp"
#include "mtnlg/dtype.hpp"
#include "plugin_host/registry.hpp"

namespace mtnlg::host {

// Loads the recipe, applies --set overrides, loads the plugins it names ([plugins] load, relative to the file
// that names them) and validates it against the host's keys and every chosen component's keys, filling in
// defaults. The result is the fully resolved recipe.
Table resolve_recipe(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                     Registry& registry);

// Validation alone, for a recipe already loaded (used by resolve_recipe and tests).
void validate_recipe(Table& recipe, const Registry& registry);

// The dtype of the model's parameters and activations, train.dtype ("fp16" is f16).
DType train_dtype(const Table& recipe);

// One layer of the model after [[model.stack]] repeats are expanded.
struct StackEntry {
  int index = 0;      // position in the model
  std::string layer;  // component name
  const Table* params = nullptr;
  int entry = 0;  // which [[model.stack]] table it came from
};
std::vector<StackEntry> expand_stack(const Table& recipe);
// The transformer blocks: the [[model.stack]] entry repeated most often (the first such), as
// StackEntry::entry. The default pipeline split divides them among the stages; full recomputation recomputes
// them.
int blocks_entry(const std::vector<StackEntry>& layers);

}  // namespace mtnlg::host
