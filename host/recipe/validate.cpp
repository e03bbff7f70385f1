#include "recipe/validate.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "recipe/describe.hpp"
#include "recipe/parse_toml.hpp"
#include "recipe/recipe_error.hpp"
#include "recipe/suggest.hpp"

namespace mtnlg::recipe {

namespace {

std::vector<std::string_view> split_choices(std::string_view choices) {
  std::vector<std::string_view> out;
  while (true) {
    const auto bar = choices.find('|');
    out.push_back(choices.substr(0, bar));
    if (bar == std::string_view::npos) return out;
    choices.remove_prefix(bar + 1);
  }
}

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) out += (i ? ", " : "") + std::string(words[i]);
  return out;
}

// Whether the value has the key's type; an integer given for a float key becomes a float here, so the
// component reads the type it declared.
bool conform(Value& value, int type) {
  switch (type) {
    case MTNLG_KEY_BOOL:
      return value.is_bool();
    case MTNLG_KEY_INT:
      return value.is_int();
    case MTNLG_KEY_FLOAT:
      if (value.is_int()) value = Value(value.as_float(), value.pos);
      return value.is_float();
    case MTNLG_KEY_STRING:
      return value.is_string();
    case MTNLG_KEY_ARRAY:
      return value.is_array();
    case MTNLG_KEY_TABLE:
      return value.is_table();
  }
  return false;
}

// What is wrong with the value for the key, or nullopt when it fits.
std::optional<std::string> problem(Value& value, const mtnlg_key_spec& spec) {
  if (!conform(value, spec.type)) {
    return str("expected ", with_article(key_type_name(spec.type)), " for '", spec.name, "', found ",
               describe(value));
  }
  if (spec.type == MTNLG_KEY_STRING && spec.choices != nullptr) {
    const std::vector<std::string_view> choices = split_choices(spec.choices);
    const std::string& given = value.as_string();
    if (std::find(choices.begin(), choices.end(), given) == choices.end()) {
      std::string out =
          str("invalid value ", value.to_toml(), " for '", spec.name, "': expected one of ", join(choices));
      if (const auto match = closest_match(given, choices)) out += str(" (did you mean \"", *match, "\"?)");
      return out;
    }
  }
  return std::nullopt;
}

std::string unknown_key(std::string_view key, std::string_view where, std::span<const mtnlg_key_spec> keys) {
  std::vector<std::string_view> names;
  for (const mtnlg_key_spec& spec : keys) names.emplace_back(spec.name);
  std::string out = str("unknown key '", key, "' in ", where);
  if (const auto match = closest_match(key, names)) out += str(" (did you mean '", *match, "'?)");
  return out + (names.empty() ? ", which takes no keys" : "; accepted keys: " + join(names));
}

}  // namespace

void validate_table(Table& table, std::string_view where, std::span<const mtnlg_key_spec> keys) {
  for (const mtnlg_key_spec& spec : keys) {
    MTNLG_CHECK(spec.name != nullptr, str(where, ": a key spec has no name"));
    MTNLG_CHECK(spec.type >= MTNLG_KEY_BOOL && spec.type <= MTNLG_KEY_TABLE,
                str(where, ": the key spec of '", spec.name, "' has an unknown type ", spec.type));
  }
  const auto spec_of = [&](std::string_view name) -> const mtnlg_key_spec* {
    const auto it =
        std::find_if(keys.begin(), keys.end(), [&](const mtnlg_key_spec& s) { return name == s.name; });
    return it == keys.end() ? nullptr : &*it;
  };

  for (auto& [key, value] : table) {
    const mtnlg_key_spec* spec = spec_of(key);
    if (spec == nullptr) throw RecipeError(value.pos, unknown_key(key, where, keys));
    if (const auto what = problem(value, *spec)) throw RecipeError(value.pos, *what);
  }

  for (const mtnlg_key_spec& spec : keys) {
    if (table.contains(spec.name)) continue;
    if (spec.default_toml == nullptr) {
      throw RecipeError(table.pos, str("missing required key '", spec.name, "' in ", where, " (",
                                       with_article(key_type_name(spec.type)),
                                       spec.doc != nullptr ? str(": ", spec.doc) : "", ")"));
    }
    std::optional<Value> fallback = parse_toml_value(spec.default_toml, SourcePos());
    MTNLG_CHECK(fallback.has_value(), str(where, ": the default of '", spec.name,
                                          "' in its key spec is not a TOML value: ", spec.default_toml));
    Value& filled = table.set(spec.name, std::move(*fallback));
    if (const auto what = problem(filled, spec)) {
      fail(str(where, ": the default of '", spec.name, "' in its key spec does not fit it: ", *what));
    }
  }
}

}  // namespace mtnlg::recipe
