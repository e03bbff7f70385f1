#pragma once
// The recipe as the SDK sees it: a tree of values that remember where they came from (file:line:col, or the
// --set override that produced them). The host builds it from TOML (toml++ never crosses the plugin
// boundary); a component receives a view of its own table, already validated against the keys it declared.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "mtnlg/export.hpp"

// A key a component accepts in its recipe table. C layout, outside any namespace: it sits in the plugin
// descriptor.
extern "C" {
enum mtnlg_key_type {
  MTNLG_KEY_BOOL = 0,
  MTNLG_KEY_INT = 1,
  MTNLG_KEY_FLOAT = 2,  // integers are accepted and converted
  MTNLG_KEY_STRING = 3,
  MTNLG_KEY_ARRAY = 4,
  MTNLG_KEY_TABLE = 5,
};
struct mtnlg_key_spec {
  const char* name;
  int type;                  // mtnlg_key_type
  const char* default_toml;  // TOML text of the default; null = required key
  const char* doc;           // one line
  const char* choices;       // for strings: "a|b|c"; null = any
};
}

namespace mtnlg {

struct MTNLG_SDK_API SourcePos {
  std::string file;    // recipe path, or "" for built-in defaults
  int line = 0;        // 1-based; 0 when unknown
  int column = 0;      // 1-based; 0 when unknown
  std::string origin;  // set for values that came from elsewhere, e.g. "--set model.hidden=64"

  std::string str() const;  // "recipes/tiny.toml:12:3", "--set model.hidden=64", "(default)"
};

class Value;
using Array = std::vector<Value>;

// An ordered table: keys keep the order they were written in, so a printed recipe reads like the source.
class MTNLG_SDK_API Table {
 public:
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  // Follows a dotted path ("model.hidden") through nested tables.
  const Value* find_path(std::string_view dotted) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Inserts or replaces, keeping the position of an existing key.
  Value& set(std::string key, Value value);
  bool erase(std::string_view key);
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  auto begin() { return entries_.begin(); }
  auto end() { return entries_.end(); }

  // Typed getters: the key must exist with that type (validation guarantees it for declared keys); the error
  // names the key and its position otherwise. get_float accepts integers.
  bool get_bool(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_float(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  const Table& get_table(std::string_view key) const;
  const Array& get_array(std::string_view key) const;
  // "file:line:col" of the key's value, or of the table when the key is absent: for a component's own
  // range checks, e.g. fail(str(params.where("lr"), ": lr must be >= 0")).
  std::string where(std::string_view key) const;
  // Where the table itself was written (for errors about missing keys).
  SourcePos pos;

 private:
  std::vector<std::pair<std::string, Value>> entries_;
};

enum class ValueType : std::uint8_t { none, boolean, integer, floating, string, array, table };
MTNLG_SDK_API std::string_view value_type_name(ValueType t);  // "integer", "string", ...

class MTNLG_SDK_API Value {
 public:
  Value() = default;
  Value(bool v, SourcePos p = {}) : data_(v), pos(std::move(p)) {}
  Value(std::int64_t v, SourcePos p = {}) : data_(v), pos(std::move(p)) {}
  Value(int v, SourcePos p = {}) : data_(static_cast<std::int64_t>(v)), pos(std::move(p)) {}
  Value(double v, SourcePos p = {}) : data_(v), pos(std::move(p)) {}
  Value(std::string v, SourcePos p = {}) : data_(std::move(v)), pos(std::move(p)) {}
  Value(const char* v, SourcePos p = {}) : data_(std::string(v)), pos(std::move(p)) {}
  Value(Array v, SourcePos p = {}) : data_(std::move(v)), pos(std::move(p)) {}
  Value(Table v, SourcePos p = {}) : data_(std::move(v)), pos(std::move(p)) {}

  ValueType type() const { return static_cast<ValueType>(data_.index()); }
  bool is_bool() const { return type() == ValueType::boolean; }
  bool is_int() const { return type() == ValueType::integer; }
  bool is_float() const { return type() == ValueType::floating; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return type() == ValueType::string; }
  bool is_array() const { return type() == ValueType::array; }
  bool is_table() const { return type() == ValueType::table; }

  bool as_bool() const;
  std::int64_t as_int() const;
  double as_float() const;  // integers convert
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Table& as_table() const;
  Table& as_table();

  // TOML text of the value: 64, 1.5e-4, "f32", [1, 2], { a = 1 }.
  std::string to_toml() const;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Array, Table> data_;

 public:
  SourcePos pos;
};

MTNLG_SDK_API std::string_view key_type_name(int type);  // "integer", "float", ...

}  // namespace mtnlg
