#pragma once
// How a recipe is laid over the recipes it includes.
#include "mtnlg/config.hpp"

namespace mtnlg::recipe {

// Lays `top` over `base`, the rule for includes: tables merge key by key, recursively; every other value of
// `top` (scalars, arrays, arrays of tables such as [[model.stack]]) replaces the one in `base` whole, as does
// a table that meets a non-table. Keys keep their place in `base`; new keys follow, in `top`'s order. A
// merged table takes `top`'s position, since the file on top is the one being written.
void merge_tables(Table& base, Table top);

}  // namespace mtnlg::recipe
