#include "tasks/task_fields.hpp"

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

}  // namespace mtnlg::tasks
