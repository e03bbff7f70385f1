#pragma once
// Checking a component's recipe table against the keys it declared.
#include <span>
#include <string_view>

#include "mtnlg/config.hpp"

namespace mtnlg::recipe {

// Validates `table` against `keys`, in place. `where` names the table in messages: "[model]",
// "[optimizer] (adamw)". Throws RecipeError for
//   - a key not declared, at its value's position, with a "did you mean" and the accepted keys;
//   - a value of the wrong type, at its position: expected an integer for 'hidden', found a string ("sixty");
//   - a string not among the key's `choices` ("a|b|c"), listing them;
//   - a missing required key (null default_toml), at the table's position, with the key's doc.
// Integers given for float keys become floats; integers are never taken from floats. Absent optional keys
// get their default (parsed from default_toml, position SourcePos{}, which prints "(default)"). Table and
// array keys accept any table or array: their contents are someone else's to check. A key spec with an
// unknown type or a default that does not fit it is the component's bug, reported as mtnlg::Error.
void validate_table(Table& table, std::string_view where, std::span<const mtnlg_key_spec> keys);

}  // namespace mtnlg::recipe
