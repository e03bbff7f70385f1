#pragma once
// The documents of a JSONL dataset: one JSON object per non-blank line, its text under one key. Dedup reads
// each dataset once in bounded batches to sign it, and later re-reads only the documents it must compare,
// by byte offset, so no text is held in memory beyond a batch and the documents being compared.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace mtnlg::data::dedup {

struct DatasetInput {
  std::string name;  // names the dataset in --priority, in the outputs and in DIR/NAME.jsonl
  std::filesystem::path path;
};

// "NAME=PATH" as given to --input; throws mtnlg::Error naming what is wrong.
DatasetInput parse_dataset_input(const std::string& spec);

// Where a document lives: enough to name it to the user (dataset, 1-based line) and to read it again.
struct DocumentRef {
  std::uint32_t dataset = 0;  // index into the inputs
  std::uint64_t line = 0;
  std::uint64_t offset = 0;  // of the line's first byte
  std::uint64_t length = 0;  // of the line, without its '\n'
};

struct RawLine {
  std::uint64_t line = 0;
  std::uint64_t offset = 0;
  std::string bytes;
};

// Reads a dataset's non-blank lines in batches bounded in count and bytes: all of them, or those that start
// in [begin, end) of the file, begin being the start of line number first_line (a rank's share, see
// line_ranges.hpp).
class JsonlLineReader {
 public:
  explicit JsonlLineReader(const std::filesystem::path& path, std::uint64_t begin = 0,
                           std::uint64_t end = std::numeric_limits<std::uint64_t>::max(),
                           std::uint64_t first_line = 1);
  // Replaces batch with the next lines; false when there are none left.
  bool next_batch(std::vector<RawLine>& batch);

 private:
  std::ifstream in_;
  std::uint64_t line_ = 0;    // of the last line read
  std::uint64_t offset_ = 0;  // of the next line
  std::uint64_t end_ = 0;
};

// The string under `key` of the JSON object on the line into `text`; false, with the reason in `why`, when
// the line is not such an object.
bool parse_document_text(std::string_view line_bytes, const std::string& key, std::string& text,
                         std::string& why);

// Random access to documents already seen: one open file per dataset, for one thread.
class DocumentTextReader {
 public:
  DocumentTextReader(const std::vector<DatasetInput>& inputs, std::string key);
  std::string text(const DocumentRef& document);

 private:
  const std::vector<DatasetInput>& inputs_;
  std::string key_;
  std::vector<std::ifstream> files_;
  std::string buffer_;
};

}  // namespace mtnlg::data::dedup
