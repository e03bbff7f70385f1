#pragma once
// Reading a recipe file, with its includes resolved. See README.md for the format.
#include <filesystem>

#include "mtnlg/config.hpp"

namespace mtnlg::recipe {

// Reads and parses `file`, resolves its includes (paths relative to the including file; bases in the order
// listed, then the file itself on top, merged by merge_tables) and removes the top-level `include` key.
// Values keep SourcePos{file, line, column} with each file's path as given (include paths joined to the
// includer's directory), never absolutized. Throws RecipeError for an unreadable file (naming the includer's
// position), a syntax error (file:line:col), an include cycle (naming the chain), an `include` that is not a
// string or an array of strings, and dates or times.
Table load_recipe(const std::filesystem::path& file);

}  // namespace mtnlg::recipe
