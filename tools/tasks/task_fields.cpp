#include "tasks/task_fields.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::tasks {

namespace {

std::string spellings(std::initializer_list<std::string_view> names) {
  std::string out;
  for (const auto name : names) out += out.empty() ? str("'", name, "'") : str(" (or '", name, "')");
  return out;
}

}  // namespace

const nlohmann::json* find_field(const nlohmann::json& example,
                                 std::initializer_list<std::string_view> names) {
  if (!example.is_object()) return nullptr;
  for (const auto name : names) {
    const auto it = example.find(name);
    if (it != example.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

void missing_field(std::string_view task, std::initializer_list<std::string_view> names) {
  fail(str("task '", task, "': missing field ", spellings(names)));
}

const std::string& string_field(const nlohmann::json& example, std::string_view task,
                                std::initializer_list<std::string_view> names) {
  const nlohmann::json* value = find_field(example, names);
  if (value == nullptr) missing_field(task, names);
  MTNLG_CHECK(value->is_string(), str("task '", task, "': field ", spellings(names), " is not a string but ",
                                      value->type_name()));
  return value->get_ref<const std::string&>();
}

void append_string_array(const nlohmann::json& example, std::string_view task,
                         std::initializer_list<std::string_view> names, std::vector<std::string>& out) {
  const nlohmann::json* value = find_field(example, names);
  if (value == nullptr) missing_field(task, names);
  MTNLG_CHECK(value->is_array(),
              str("task '", task, "': field ", spellings(names), " is not a list but ", value->type_name()));
  for (const auto& item : *value) {
    MTNLG_CHECK(item.is_string(), str("task '", task, "': field ", spellings(names), " holds a ",
                                      item.type_name(), ", not a string"));
    out.push_back(item.get<std::string>());
  }
}

int label_field(const nlohmann::json& example, std::string_view task,
                std::initializer_list<std::string_view> names,
                std::initializer_list<std::pair<std::string_view, int>> words) {
  const nlohmann::json* value = find_field(example, names);
  if (value == nullptr) missing_field(task, names);
  if (value->is_boolean()) return value->get<bool>() ? 1 : 0;
  if (value->is_number_integer()) return value->get<int>();
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    for (const auto& [word, index] : words)
      if (text == word) return index;
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() < 9)
      return std::stoi(text);
  }
  fail(str("task '", task, "': field ", spellings(names), " holds ", value->dump(), ", not a label"));
}

long long int_field(const nlohmann::json& example, std::string_view task,
                    std::initializer_list<std::string_view> names) {
  const nlohmann::json* value = find_field(example, names);
  if (value == nullptr) missing_field(task, names);
  MTNLG_CHECK(value->is_number_integer(), str("task '", task, "': field ", spellings(names),
                                              " is not an integer but ", value->type_name()));
  return value->get<long long>();
}

std::size_t code_points(std::string_view utf8) {
  std::size_t n = 0;
  for (const char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string code_point_slice(std::string_view utf8, std::size_t begin, std::size_t end) {
  // Byte offset of code point i: the i-th byte that starts a character, or the end.
  auto offset = [&](std::size_t i) {
    std::size_t seen = 0;
    for (std::size_t b = 0; b < utf8.size(); ++b) {
      if ((static_cast<unsigned char>(utf8[b]) & 0xC0) == 0x80) continue;
      if (seen++ == i) return b;
    }
    return utf8.size();
  };
  const std::size_t from = offset(begin), to = std::max(from, offset(end));
  return std::string(utf8.substr(from, to - from));
}

std::string_view strip_ascii(std::string_view text) {
  constexpr std::string_view space = " \t\n\v\f\r";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

}  // namespace mtnlg::tasks
