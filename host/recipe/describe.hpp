#pragma once
// How recipe messages name types and values: "an integer", "a string (\"sixty\")".
#include <string>
#include <string_view>

#include "mtnlg/config.hpp"

namespace mtnlg::recipe {

// The type name with its indefinite article: "an integer", "a float", "an array".
std::string with_article(std::string_view type_name);

// The value's type with its article and its TOML text: a string ("sixty"), an integer (64).
std::string describe(const Value& value);

}  // namespace mtnlg::recipe
