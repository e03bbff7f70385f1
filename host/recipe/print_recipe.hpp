#pragma once
// The resolved recipe as TOML text, for `mtnlg check` and for the copy a run keeps next to its checkpoints.
#include <string>

#include "mtnlg/config.hpp"

namespace mtnlg::recipe {

// Valid TOML for the recipe: top-level keys first, then a [section] or [section.sub] per table and a
// [[a.b]] block per element of an array of tables; every other value written by Value::to_toml(). Within a
// table its plain keys come before its sub-tables, as TOML requires; otherwise the order is the recipe's.
// load_recipe of the text gives back the same tree (positions aside).
std::string print_recipe(const Table& recipe);

// A key as TOML writes it: bare (hidden, lr_min, 0) when it can be, quoted ("odd.key") otherwise.
std::string toml_key(const std::string& key);

}  // namespace mtnlg::recipe
