#include "recipe/override.hpp"

#include <charconv>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mtnlg/str.hpp"
#include "recipe/describe.hpp"
#include "recipe/parse_toml.hpp"
#include "recipe/print_recipe.hpp"
#include "recipe/recipe_error.hpp"

namespace mtnlg::recipe {

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// The first `n` segments, dotted again: the part of the path an error is about.
std::string prefix(const std::vector<std::string>& segments, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? "." : "") + toml_key(segments[i]);
  return out;
}

std::optional<std::size_t> parse_index(const std::string& segment) {
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
  if (ec != std::errc() || end != segment.data() + segment.size()) return std::nullopt;
  return index;
}

}  // namespace

void apply_override(Table& recipe, std::string_view assignment) {
  SourcePos origin;
  origin.origin = str("--set ", assignment);

  const auto eq = assignment.find('=');
  const std::string_view key = trim(assignment.substr(0, eq));
  if (eq == std::string_view::npos || key.empty()) {
    throw RecipeError(origin, "expected key=value, e.g. --set model.hidden=64");
  }
  const std::optional<std::vector<std::string>> parsed = parse_toml_key(key);
  if (!parsed) {
    throw RecipeError(origin, str("'", key,
                                  "' is not a TOML key; write a dotted path such as model.hidden or "
                                  "model.stack.0.width, quoting segments with other characters: a.\"b.c\""));
  }
  const std::vector<std::string>& path = *parsed;
  const std::string_view text = trim(assignment.substr(eq + 1));
  Value value = parse_toml_value(text, origin).value_or(Value(std::string(text), origin));

  // Walks the path: `table` is where path[i] is looked up.
  Table* table = &recipe;
  for (std::size_t i = 0;; ++i) {
    if (i + 1 == path.size()) {
      table->set(path[i], std::move(value));
      return;
    }
    Value* next = table->find(path[i]);
    if (next == nullptr) {
      Table created;
      created.pos = origin;
      next = &table->set(path[i], Value(std::move(created), origin));
    }
    // Integer segments after an array pick an element: that is how [[model.stack]] entries are reached.
    while (next->is_array()) {
      ++i;
      Array& array = next->as_array();
      const std::optional<std::size_t> index = parse_index(path[i]);
      if (!index) {
        throw RecipeError(
            origin, str("'", prefix(path, i), "' is an array; expected an element index after it, found '",
                        path[i], "'"));
      }
      if (*index >= array.size()) {
        throw RecipeError(origin,
                          str("index ", *index, " is out of range for '", prefix(path, i), "', which has ",
                              array.size(), array.size() == 1 ? " element" : " elements"));
      }
      next = &array[*index];
      if (i + 1 == path.size()) {
        *next = std::move(value);
        return;
      }
    }
    if (!next->is_table()) {
      throw RecipeError(origin, str("cannot set '", key, "': '", prefix(path, i + 1), "' is ",
                                    describe(*next), " from ", next->pos.str(), ", not a table"));
    }
    table = &next->as_table();
  }
}

}  // namespace mtnlg::recipe
