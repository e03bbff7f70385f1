#pragma once
// Reading JSON-lines input one line at a time, with every error as FILE:LINE: message. Blank lines are
// skipped (not documents). next() reads without parsing, so a command that copies most lines through
// unchanged (decontaminate's second pass) does not pay for parsing them; next_document() parses, and passes
// over bad lines according to --bad-lines (bad_lines.hpp). The raw line is what a filter writes back byte for
// byte.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/bad_lines.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

class JsonLinesReader {
 public:
  // Error if it cannot be read. `bad_lines` (not owned) decides about bad lines; nullptr: they are fatal.
  explicit JsonLinesReader(const std::filesystem::path& path, BadLines* bad_lines = nullptr);
  // The next non-blank line, without its '\n'; false at the end of the file.
  bool next(std::string& raw);
  // The next non-blank line that is a JSON object with a string field `key` (any object if `key` is empty),
  // parsed into `doc`: nlohmann::json (keys sorted) or nlohmann::ordered_json (keys kept in the file's order,
  // for documents written back). Other lines go to the BadLines: an error "FILE:LINE: why", or skipped and
  // listed in skipped_lines(). False at the end of the file.
  template <class Json>
  bool next_document(std::string& raw, Json& doc, const std::string& key);
  // The string field `key` of a document next_document() returned.
  template <class Json>
  static const std::string& text(const Json& doc, const std::string& key) {
    return doc.find(key)->template get_ref<const std::string&>();
  }
  std::string where() const { return str(path_.string(), ":", line_number_); }      // of the line last read
  std::size_t line_number() const { return line_number_; }                          // 1-based
  const std::vector<std::size_t>& skipped_lines() const { return skipped_lines_; }  // in file order
  const std::filesystem::path& path() const { return path_; }

 private:
  void reject(const std::string& why);  // throws when bad lines are fatal

  std::ifstream in_;
  std::filesystem::path path_;
  BadLines* bad_lines_;
  std::size_t line_number_ = 0;
  std::vector<std::size_t> skipped_lines_;
};

template <class Json>
bool JsonLinesReader::next_document(std::string& raw, Json& doc, const std::string& key) {
  while (next(raw)) {
    try {
      doc = Json::parse(raw);
    } catch (const std::exception& e) {
      reject(str("not a JSON object: ", e.what()));
      continue;
    }
    if (!doc.is_object()) {
      reject(str("not a JSON object (a JSON ", doc.type_name(), ")"));
      continue;
    }
    if (!key.empty()) {
      const auto it = doc.find(key);
      if (it == doc.end() || !it->is_string()) {
        reject(str("no string field '", key, "' (choose the field with --json-key)"));
        continue;
      }
    }
    return true;
  }
  return false;
}

}  // namespace mtnlg::data
