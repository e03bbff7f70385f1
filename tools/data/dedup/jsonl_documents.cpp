#include "jsonl_documents.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::dedup {

namespace {

// A batch holds at most this many lines or (after the line that crosses it) this many bytes, so a corpus of
// 1 MB documents does not pull gigabytes into memory at once.
constexpr std::size_t kBatchLines = 4096;
constexpr std::size_t kBatchBytes = 64u << 20;

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool is_valid_name(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

DatasetInput parse_dataset_input(const std::string& spec) {
  const auto eq = spec.find('=');
  MTNLG_CHECK(eq != std::string::npos, str("--input '", spec, "': expected NAME=PATH"));
  DatasetInput input{spec.substr(0, eq), spec.substr(eq + 1)};
  // The name becomes a file name (DIR/NAME.jsonl), so it is kept to characters that are safe in one.
  MTNLG_CHECK(is_valid_name(input.name),
              str("--input '", spec, "': the dataset name '", input.name,
                  "' must be letters, digits, '_', '-' or '.', not starting with '.'"));
  MTNLG_CHECK(!input.path.empty(), str("--input '", spec, "': no path after '='"));
  return input;
}

JsonlLineReader::JsonlLineReader(const std::filesystem::path& path, std::uint64_t begin, std::uint64_t end,
                                 std::uint64_t first_line)
    : in_(path, std::ios::binary), line_(first_line - 1), offset_(begin), end_(end) {
  MTNLG_CHECK(in_.good(), str("cannot read ", path.string(), ": no such file or not readable"));
  if (begin > 0) in_.seekg(static_cast<std::streamoff>(begin));
}

bool JsonlLineReader::next_batch(std::vector<RawLine>& batch) {
  batch.clear();
  std::size_t bytes = 0;
  std::string line;
  while (batch.size() < kBatchLines && bytes < kBatchBytes && offset_ < end_ && std::getline(in_, line)) {
    ++line_;
    const std::uint64_t offset = offset_;
    offset_ += line.size() + 1;
    if (is_blank(line)) continue;
    bytes += line.size();
    batch.push_back(RawLine{line_, offset, std::move(line)});
    line.clear();
  }
  return !batch.empty();
}

bool parse_document_text(std::string_view line_bytes, const std::string& key, std::string& text,
                         std::string& why) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(line_bytes);
  } catch (const std::exception& e) {
    why = str("not a JSON object: ", e.what());
    return false;
  }
  if (!doc.is_object()) {
    why = "not a JSON object";
    return false;
  }
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) {
    why = str("no string field '", key, "' (choose the field with --json-key)");
    return false;
  }
  text = it->get<std::string>();
  return true;
}

DocumentTextReader::DocumentTextReader(const std::vector<DatasetInput>& inputs, std::string key)
    : inputs_(inputs), key_(std::move(key)), files_(inputs.size()) {}

std::string DocumentTextReader::text(const DocumentRef& document) {
  const DatasetInput& input = inputs_[document.dataset];
  std::ifstream& file = files_[document.dataset];
  if (!file.is_open()) file.open(input.path, std::ios::binary);
  buffer_.resize(document.length);
  file.clear();
  file.seekg(static_cast<std::streamoff>(document.offset));
  file.read(buffer_.data(), static_cast<std::streamsize>(document.length));
  MTNLG_CHECK(file.good(), str(input.path.string(), ":", document.line,
                               ": cannot read the document again (was the file changed during dedup?)"));
  std::string text, why;
  MTNLG_CHECK(
      parse_document_text(buffer_, key_, text, why),
      str(input.path.string(), ":", document.line, ": ", why, " (was the file changed during dedup?)"));
  return text;
}

}  // namespace mtnlg::data::dedup
