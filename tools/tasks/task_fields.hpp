#pragma once
// Reading one field of a task example, with the error every task reports the same way: the task and the field
// (and the other spellings tried), so that a user with a file from a different release sees what is expected.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
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
// The first of names present as a label index: an integer, or a string holding one (Hugging Face's HellaSwag
// has "label": "3"); `words` maps other strings to indices (ANLI's original "e"/"n"/"c"); a JSON boolean is
// 0/1. Fails naming the task and field when absent or of another kind.
int label_field(const nlohmann::json& example, std::string_view task,
                std::initializer_list<std::string_view> names,
                std::initializer_list<std::pair<std::string_view, int>> words = {});
// The first of names present, which must be an integer.
long long int_field(const nlohmann::json& example, std::string_view task,
                    std::initializer_list<std::string_view> names);

// Python's len() of a UTF-8 string: the number of code points (bytes that are not UTF-8 continuation bytes).
std::size_t code_points(std::string_view utf8);
// Python's s[begin:end] for 0 <= begin <= end, counted in code points (clamped to the string's length).
std::string code_point_slice(std::string_view utf8, std::size_t begin, std::size_t end);
// Python's str.strip() for ASCII whitespace (space, \t, \n, \v, \f, \r).
std::string_view strip_ascii(std::string_view text);

// Fails with "task 'TASK': missing field 'A' (or 'B')".
[[noreturn]] void missing_field(std::string_view task, std::initializer_list<std::string_view> names);

}  // namespace mtnlg::tasks
