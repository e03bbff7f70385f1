#include "io/json_lines_reader.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::data {

JsonLinesReader::JsonLinesReader(const std::filesystem::path& path, BadLines* bad_lines)
    : in_(path, std::ios::binary), path_(path), bad_lines_(bad_lines) {
  // An ifstream opens a directory on Linux and then fails to read it: refuse it here, with a clear message.
  MTNLG_CHECK(in_.good() && !std::filesystem::is_directory(path),
              str("cannot read ", path.string(), ": no such file or not readable"));
}

bool JsonLinesReader::next(std::string& raw) {
  while (std::getline(in_, raw)) {
    ++line_number_;
    if (raw.find_first_not_of(" \t\r") != std::string::npos) return true;
  }
  MTNLG_CHECK(in_.eof(), str("cannot read ", path_.string(), " after line ", line_number_));
  return false;
}

void JsonLinesReader::reject(const std::string& why) {
  if (bad_lines_ == nullptr) fail(str(where(), ": ", why));
  bad_lines_->reject(where(), why);
  skipped_lines_.push_back(line_number_);
}

}  // namespace mtnlg::data
