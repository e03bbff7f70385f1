#include "recipe/parse_toml.hpp"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "recipe/recipe_error.hpp"

namespace mtnlg::recipe {

namespace {

SourcePos position(const std::string& file, const toml::source_region& region) {
  SourcePos pos;
  pos.file = file;
  pos.line = static_cast<int>(region.begin.line);
  pos.column = static_cast<int>(region.begin.column);
  return pos;
}

// Where converted values say they came from: their place in a document, or one fixed position for a value
// that came from a command line or a default.
class Converter {
 public:
  static Converter for_file(std::string file) { return Converter(std::move(file), std::nullopt); }
  static Converter fixed(SourcePos pos) { return Converter({}, std::move(pos)); }

  Table table(const toml::table& in) const {
    // toml++ keeps a table's keys sorted; the recipe keeps them in the order they were written, which the
    // keys' own positions give back.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, node] : in) entries.emplace_back(&key, &node);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      const toml::source_position pa = a.first->source().begin, pb = b.first->source().begin;
      return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
    });
    Table out;
    out.pos = pos(in.source());
    for (const auto& [key, node] : entries) out.set(std::string(key->str()), value(*node));
    return out;
  }

  Value value(const toml::node& node) const {
    SourcePos where = pos(node.source());
    switch (node.type()) {
      case toml::node_type::table:
        return Value(table(*node.as_table()), std::move(where));
      case toml::node_type::array: {
        Array out;
        for (const toml::node& element : *node.as_array()) out.push_back(value(element));
        return Value(std::move(out), std::move(where));
      }
      case toml::node_type::string:
        return Value(node.as_string()->get(), std::move(where));
      case toml::node_type::integer:
        return Value(node.as_integer()->get(), std::move(where));
      case toml::node_type::floating_point:
        return Value(node.as_floating_point()->get(), std::move(where));
      case toml::node_type::boolean:
        return Value(node.as_boolean()->get(), std::move(where));
      case toml::node_type::date:
      case toml::node_type::time:
      case toml::node_type::date_time:
      case toml::node_type::none:
        break;
    }
    throw RecipeError(std::move(where),
                      "dates and times are not supported in recipes (write it as a string)");
  }

 private:
  Converter(std::string file, std::optional<SourcePos> fixed)
      : file_(std::move(file)), fixed_(std::move(fixed)) {}

  SourcePos pos(const toml::source_region& region) const {
    return fixed_ ? *fixed_ : position(file_, region);
  }

  std::string file_;
  std::optional<SourcePos> fixed_;
};

}  // namespace

Table parse_toml(std::string_view text, const std::string& file) {
  toml::table document;
  try {
    document = toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    throw RecipeError(position(file, e.source()), std::string(e.description()));
  }
  Table out = Converter::for_file(file).table(document);
  out.pos = SourcePos();
  out.pos.file = file;
  return out;
}

std::optional<Value> parse_toml_value(std::string_view text, const SourcePos& pos) {
  toml::table document;
  try {
    document = toml::parse("v = " + std::string(text));
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
  // Text such as "1\nw = 2" parses as a document, but not as one value.
  const toml::node* node = document.get("v");
  if (node == nullptr || document.size() != 1) return std::nullopt;
  return Converter::fixed(pos).value(*node);
}

std::optional<std::vector<std::string>> parse_toml_key(std::string_view text) {
  toml::table document;
  try {
    document = toml::parse(std::string(text) + " = 0");
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
  // A dotted key makes one table per segment, each with a single entry, down to the 0.
  std::vector<std::string> segments;
  const toml::table* table = &document;
  while (table != nullptr) {
    if (table->size() != 1) return std::nullopt;
    const toml::table* inner = nullptr;
    for (auto&& [key, node] : *table) {
      segments.emplace_back(key.str());
      inner = node.as_table();
    }
    table = inner;
  }
  return segments;
}

}  // namespace mtnlg::recipe
