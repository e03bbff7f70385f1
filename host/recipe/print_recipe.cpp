#include "recipe/print_recipe.hpp"

#include <algorithm>
#include <cctype>

namespace mtnlg::recipe {

namespace {

// An array whose elements are all tables is written as [[...]] blocks; one that mixes in anything else can
// only be written inline.
bool is_array_of_tables(const Value& value) {
  if (!value.is_array() || value.as_array().empty()) return false;
  const Array& array = value.as_array();
  return std::all_of(array.begin(), array.end(), [](const Value& v) { return v.is_table(); });
}

bool has_plain_keys(const Table& table) {
  return std::any_of(table.begin(), table.end(), [](const auto& entry) {
    return !entry.second.is_table() && !is_array_of_tables(entry.second);
  });
}

void print_header(std::string& out, const std::string& header) {
  if (!out.empty()) out += '\n';
  out += header + '\n';
}

// Writes the table's plain keys, then its sub-tables under headers that extend `path`.
void print_table(std::string& out, const Table& table, const std::string& path) {
  for (const auto& [key, value] : table) {
    if (!value.is_table() && !is_array_of_tables(value))
      out += toml_key(key) + " = " + value.to_toml() + '\n';
  }
  for (const auto& [key, value] : table) {
    const std::string sub = path.empty() ? toml_key(key) : path + '.' + toml_key(key);
    if (value.is_table()) {
      // A header holding only sub-tables would be empty: their own headers already create it.
      const Table& inner = value.as_table();
      if (inner.empty() || has_plain_keys(inner)) print_header(out, '[' + sub + ']');
      print_table(out, inner, sub);
    } else if (is_array_of_tables(value)) {
      for (const Value& element : value.as_array()) {
        print_header(out, "[[" + sub + "]]");
        print_table(out, element.as_table(), sub);
      }
    }
  }
}

}  // namespace

std::string toml_key(const std::string& key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? key : Value(key).to_toml();  // a quoted key is written like a string
}

std::string print_recipe(const Table& recipe) {
  std::string out;
  print_table(out, recipe, "");
  return out;
}

}  // namespace mtnlg::recipe
