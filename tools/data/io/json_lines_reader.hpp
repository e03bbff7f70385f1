#pragma once
// Reading JSON-lines input one line at a time, with every error as FILE:LINE: message. Blank lines are
// skipped (not documents). Parsing is separate from reading, so a command that copies most lines through
// unchanged (decontaminate's second pass) does not pay for parsing them; the raw line is what a filter writes
// back byte for byte.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

class JsonLinesReader {
 public:
  explicit JsonLinesReader(const std::filesystem::path& path);  // error if it cannot be read
  // The next non-blank line, without its '\n'; false at the end of the file.
  bool next(std::string& raw);
  // The line last read as a JSON object: nlohmann::json (keys sorted) or nlohmann::ordered_json (keys kept
  // in the file's order, for documents written back). Error (FILE:LINE) if it is not a JSON object.
  template <class Json = nlohmann::json>
  Json parse(const std::string& raw) const {
    Json value;
    try {
      value = Json::parse(raw);
    } catch (const std::exception& e) {
      fail(str(where(), ": not a JSON object: ", e.what()));
    }
    MTNLG_CHECK(value.is_object(), str(where(), ": not a JSON object (a JSON ", value.type_name(), ")"));
    return value;
  }
  // The object's string field `key`; error (FILE:LINE) naming the option that chooses it otherwise.
  template <class Json>
  const std::string& text(const Json& doc, const std::string& key) const {
    const auto it = doc.find(key);
    MTNLG_CHECK(it != doc.end() && it->is_string(),
                str(where(), ": no string field '", key, "' (choose the field with --json-key)"));
    return it->template get_ref<const std::string&>();
  }
  std::string where() const { return str(path_.string(), ":", line_number_); }  // of the line last read
  std::size_t line_number() const { return line_number_; }                      // 1-based
  const std::filesystem::path& path() const { return path_; }

 private:
  std::ifstream in_;
  std::filesystem::path path_;
  std::size_t line_number_ = 0;
};

}  // namespace mtnlg::data
