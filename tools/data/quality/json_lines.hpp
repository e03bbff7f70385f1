#pragma once
// Reading the classifier's JSON-lines input one document at a time, with every error as FILE:LINE: message.
// Blank lines are skipped (as mtnlg-data tokenize does); the raw line is kept so that a filter can write a
// kept document back byte for byte.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mtnlg::data::quality {

struct JsonLine {
  std::size_t line = 0;        // 1-based line number in the file
  std::string raw;             // the line as read, without its '\n'
  nlohmann::ordered_json doc;  // a JSON object; key order kept so rewritten documents keep theirs
};

class JsonLinesReader {
 public:
  explicit JsonLinesReader(const std::filesystem::path& path);  // error if it cannot be read
  // The next non-blank line, parsed; false at the end. Error (FILE:LINE) if it is not a JSON object.
  bool next(JsonLine& out);
  // The document's string field `key`; error (FILE:LINE) if it is missing or not a string.
  const std::string& text(const JsonLine& line, const std::string& key) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::ifstream in_;
  std::filesystem::path path_;
  std::size_t line_number_ = 0;
};

}  // namespace mtnlg::data::quality
