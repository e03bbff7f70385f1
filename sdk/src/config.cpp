#include "mtnlg/config.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg {

std::string SourcePos::str() const {
  if (!origin.empty()) return origin;
  if (file.empty()) return "(default)";
  if (line <= 0) return file;
  return mtnlg::str(file, ':', line, ':', column);
}

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::none:
      return "nothing";
    case ValueType::boolean:
      return "boolean";
    case ValueType::integer:
      return "integer";
    case ValueType::floating:
      return "float";
    case ValueType::string:
      return "string";
    case ValueType::array:
      return "array";
    case ValueType::table:
      return "table";
  }
  return "?";
}

std::string_view key_type_name(int type) {
  switch (type) {
    case MTNLG_KEY_BOOL:
      return "boolean";
    case MTNLG_KEY_INT:
      return "integer";
    case MTNLG_KEY_FLOAT:
      return "float";
    case MTNLG_KEY_STRING:
      return "string";
    case MTNLG_KEY_ARRAY:
      return "array";
    case MTNLG_KEY_TABLE:
      return "table";
  }
  return "?";
}

const Value* Table::find(std::string_view key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

Value* Table::find(std::string_view key) {
  for (auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

const Value* Table::find_path(std::string_view dotted) const {
  const Table* table = this;
  while (true) {
    const auto dot = dotted.find('.');
    const Value* v = table->find(dotted.substr(0, dot));
    if (v == nullptr || dot == std::string_view::npos) return v;
    if (!v->is_table()) return nullptr;
    table = &v->as_table();
    dotted.remove_prefix(dot + 1);
  }
}

std::string Table::where(std::string_view key) const {
  const Value* v = find(key);
  return (v != nullptr ? v->pos : pos).str();
}

Value& Table::set(std::string key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  entries_.emplace_back(std::move(key), std::move(value));
  return entries_.back().second;
}

bool Table::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

namespace {
const Value& require(const Table& t, std::string_view key) {
  const Value* v = t.find(key);
  if (v == nullptr) fail(str(t.pos.str(), ": missing key '", key, "'"));
  return *v;
}
std::string_view article(std::string_view noun) {
  return noun.find_first_of("aeiou") == 0 ? "an " : "a ";
}
[[noreturn]] void type_error(const Value& v, std::string_view wanted) {
  const std::string_view found = value_type_name(v.type());
  fail(str(v.pos.str(), ": expected ", article(wanted), wanted, ", found ", article(found), found, " (",
           v.to_toml(), ")"));
}
}  // namespace

bool Table::get_bool(std::string_view key) const {
  return require(*this, key).as_bool();
}
std::int64_t Table::get_int(std::string_view key) const {
  return require(*this, key).as_int();
}
double Table::get_float(std::string_view key) const {
  return require(*this, key).as_float();
}
const std::string& Table::get_string(std::string_view key) const {
  return require(*this, key).as_string();
}
const Table& Table::get_table(std::string_view key) const {
  return require(*this, key).as_table();
}
const Array& Table::get_array(std::string_view key) const {
  return require(*this, key).as_array();
}

bool Value::as_bool() const {
  if (!is_bool()) type_error(*this, "boolean");
  return std::get<bool>(data_);
}
std::int64_t Value::as_int() const {
  if (!is_int()) type_error(*this, "integer");
  return std::get<std::int64_t>(data_);
}
double Value::as_float() const {
  if (is_int()) return static_cast<double>(std::get<std::int64_t>(data_));
  if (!is_float()) type_error(*this, "float");
  return std::get<double>(data_);
}
const std::string& Value::as_string() const {
  if (!is_string()) type_error(*this, "string");
  return std::get<std::string>(data_);
}
const Array& Value::as_array() const {
  if (!is_array()) type_error(*this, "array");
  return std::get<Array>(data_);
}
Array& Value::as_array() {
  if (!is_array()) type_error(*this, "array");
  return std::get<Array>(data_);
}
const Table& Value::as_table() const {
  if (!is_table()) type_error(*this, "table");
  return std::get<Table>(data_);
}
Table& Value::as_table() {
  if (!is_table()) type_error(*this, "table");
  return std::get<Table>(data_);
}

namespace {
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

bool bare_key(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

std::string Value::to_toml() const {
  switch (type()) {
    case ValueType::none:
      return "";
    case ValueType::boolean:
      return as_bool() ? "true" : "false";
    case ValueType::integer:
      return std::to_string(as_int());
    case ValueType::floating:
      return format_float(std::get<double>(data_));
    case ValueType::string:
      return quote(as_string());
    case ValueType::array: {
      std::string out = "[";
      const Array& a = as_array();
      for (std::size_t i = 0; i < a.size(); ++i) out += (i ? ", " : "") + a[i].to_toml();
      return out + "]";
    }
    case ValueType::table: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : as_table()) {
        out += (first ? " " : ", ") + (bare_key(k) ? k : quote(k)) + " = " + v.to_toml();
        first = false;
      }
      return out + (first ? "}" : " }");
    }
  }
  return "";
}

}  // namespace mtnlg
