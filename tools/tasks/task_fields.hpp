#pragma once
// Reading one field of a task example, with the error every task reports the same way: the task and the field
// (and the other spellings tried), so that a user with a file from a different release sees what is expected.
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mtnlg::tasks {

// The first of names present in example, or nullptr.
const nlohmann::json* find_field(const nlohmann::json& example,
                                 std::initializer_list<std::string_view> names);
// The first of names present, which must be a string; fails naming the task and the field otherwise.
const std::string& string_field(const nlohmann::json& example, std::string_view task,
                                std::initializer_list<std::string_view> names);
// The first of names present, which must be an array of strings, appended to out.
void append_string_array(const nlohmann::json& example, std::string_view task,
                         std::initializer_list<std::string_view> names, std::vector<std::string>& out);
// Fails with "task 'TASK': missing field 'A' (or 'B')".
[[noreturn]] void missing_field(std::string_view task, std::initializer_list<std::string_view> names);

}  // namespace mtnlg::tasks
