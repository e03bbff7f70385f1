#include "json_lines.hpp"

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::quality {

JsonLinesReader::JsonLinesReader(const std::filesystem::path& path)
    : in_(path, std::ios::binary), path_(path) {
  // An ifstream opens a directory on Linux and then fails to read it: refuse it here, with a clear message.
  MTNLG_CHECK(in_.good() && !std::filesystem::is_directory(path),
              str("cannot read ", path.string(), ": no such file or not readable"));
}

bool JsonLinesReader::next(JsonLine& out) {
  while (std::getline(in_, out.raw)) {
    ++line_number_;
    if (out.raw.find_first_not_of(" \t\r") == std::string::npos) continue;
    out.line = line_number_;
    try {
      out.doc = nlohmann::ordered_json::parse(out.raw);
    } catch (const std::exception& e) {
      fail(str(path_.string(), ":", line_number_, ": not a JSON object: ", e.what()));
    }
    MTNLG_CHECK(out.doc.is_object(), str(path_.string(), ":", line_number_, ": not a JSON object (a JSON ",
                                         out.doc.type_name(), ")"));
    return true;
  }
  MTNLG_CHECK(in_.eof(), str("cannot read ", path_.string(), " after line ", line_number_));
  return false;
}

const std::string& JsonLinesReader::text(const JsonLine& line, const std::string& key) const {
  const auto it = line.doc.find(key);
  MTNLG_CHECK(it != line.doc.end() && it->is_string(),
              str(path_.string(), ":", line.line, ": no string field '", key,
                  "' (choose the field with --json-key)"));
  return it->get_ref<const std::string&>();
}

}  // namespace mtnlg::data::quality
