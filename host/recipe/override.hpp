#pragma once
// Command-line overrides: `--set key=value`.
#include <string_view>

#include "mtnlg/config.hpp"

namespace mtnlg::recipe {

// Applies one `--set` assignment, "model.hidden=64", to the recipe. The key is a dotted path; missing tables
// on the way are created, and an integer segment picks an element of an array (model.stack.1.width=8).
// The value is read as a TOML value (64, 1.5e-4, "f32", true, [1, 2], { a = 1 }), or else taken as a bare
// string (f64 gives "f64"); it replaces whatever was there whole. Every value it sets, and every table it
// creates, gets SourcePos{.origin = "--set <assignment>"}, so later errors name the override. Throws
// RecipeError for a missing '=', an empty key or key segment, a path through something that is not a table,
// and an index out of range.
void apply_override(Table& recipe, std::string_view assignment);

}  // namespace mtnlg::recipe
