#pragma once
// TOML text to the SDK's value tree. This is the only place that sees toml++: the tree it builds is what the
// rest of the host and the plugins work with.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mtnlg/config.hpp"

namespace mtnlg::recipe {

// Parses a whole document. Every value and table gets SourcePos{file, line, column} (the root table gets
// SourcePos{file}); keys keep the order they were written in. Throws RecipeError on a syntax error
// ("file:line:col: <what the parser says>") and on dates and times, which recipes do not use.
Table parse_toml(std::string_view text, const std::string& file);

// Parses text as one TOML value, the right-hand side of `key = ...` ("64", "\"f32\"", "[1, 2]",
// "{ a = 1 }"); the value and everything inside it get `pos`. Returns nullopt when the text is not a TOML
// value. Throws RecipeError (at `pos`) for a date or time.
std::optional<Value> parse_toml_value(std::string_view text, const SourcePos& pos);

// Splits a TOML key, bare, quoted or dotted (model.hidden, model."odd.name", stack.1.width), into its
// segments. Returns nullopt when the text is not a TOML key.
std::optional<std::vector<std::string>> parse_toml_key(std::string_view text);

}  // namespace mtnlg::recipe
