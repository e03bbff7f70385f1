#include "tokenize_command.hpp"

#include <chrono>
#include <fstream>
#include <future>

#include <nlohmann/json.hpp>

#include "batch_encoder.hpp"
#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "tokenizer/gpt2_tokenizer.hpp"

namespace mtnlg::data {

namespace {

// Documents are read, tokenized and written in batches, so memory is bounded by a batch, not the input: a
// batch ends at kBatchDocuments documents or kBatchTextBytes of text, whichever comes first (one huge
// document is a batch of its own). Each document's tokens go to its own slot and are written in input order,
// so the output does not depend on how many workers there are or which of them tokenized what.
constexpr std::size_t kBatchDocuments = 4096;
constexpr std::size_t kBatchTextBytes = 16u << 20;

bool reads_stdin(const std::filesystem::path& p) {
  return p == "-";
}

bool is_json_lines(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  return reads_stdin(p) || ext == ".jsonl" || ext == ".json";
}

struct Batch {
  std::vector<std::vector<std::string>> texts;  // [key][document], in input order
  std::size_t text_bytes = 0;
  std::uint64_t input_bytes_done = 0;  // of the input read so far, for the progress meter
  bool empty() const { return texts.empty() || texts[0].empty(); }
};

// Reads batches of documents: per key, the texts in input order. Single-threaded; one batch is read ahead
// while the previous one is tokenized.
class DocumentSource {
 public:
  DocumentSource(const std::filesystem::path& input, std::vector<std::string> keys, BadLines& bad_lines)
      : name_(reads_stdin(input) ? std::string("<stdin>") : input.string()),
        keys_(std::move(keys)),
        bad_lines_(bad_lines),
        json_(is_json_lines(input)) {
    // Standard input through its file descriptor: std::cin, synchronised with C stdio, reads a pipe at a
    // fraction of the speed of a file stream.
    file_.open(reads_stdin(input) ? std::filesystem::path("/dev/stdin") : input, std::ios::binary);
    MTNLG_CHECK(file_.good(), str("cannot read ", name_, ": no such file or not readable"));
  }

  Batch next() {
    Batch batch;
    batch.texts.assign(keys_.size(), {});
    std::string line;
    while (batch.texts[0].size() < kBatchDocuments && batch.text_bytes < kBatchTextBytes &&
           std::getline(file_, line)) {
      ++line_number_;
      bytes_done_ += line.size() + 1;
      if (json_) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        add_json_document(line, batch);
      } else if (line.find_first_not_of(" \t\r") == std::string::npos) {
        flush_paragraph(batch);
      } else {
        pending_ += pending_.empty() ? line : "\n" + line;
      }
    }
    MTNLG_CHECK(!file_.bad(), str("cannot read ", name_, " after line ", line_number_, " (I/O error)"));
    if (file_.eof()) flush_paragraph(batch);
    batch.input_bytes_done = bytes_done_;
    return batch;
  }

 private:
  // A line missing any of the keys is bad as a whole: every key's dataset must have the same documents.
  void add_json_document(const std::string& line, Batch& batch) {
    const std::string where = str(name_, ":", line_number_);
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      return bad_lines_.reject(where, str("not a JSON object: ", e.what()));
    }
    if (!doc.is_object()) return bad_lines_.reject(where, str("not a JSON object: a JSON ", doc.type_name()));
    for (const std::string& key : keys_) {
      const auto it = doc.find(key);
      if (it == doc.end() || !it->is_string())
        return bad_lines_.reject(where,
                                 str("no string field '", key, "' (choose the field with --json-keys)"));
    }
    for (std::size_t k = 0; k < keys_.size(); ++k) {
      batch.texts[k].push_back(doc[keys_[k]].get<std::string>());
      batch.text_bytes += batch.texts[k].back().size();
    }
  }

  void flush_paragraph(Batch& batch) {
    if (pending_.empty()) return;
    batch.text_bytes += pending_.size();
    batch.texts[0].push_back(std::move(pending_));
    pending_.clear();
  }

  std::string name_;
  std::ifstream file_;
  std::vector<std::string> keys_;
  BadLines& bad_lines_;
  bool json_;
  std::size_t line_number_ = 0;
  std::uint64_t bytes_done_ = 0;
  std::string pending_;
};

std::uint64_t input_size(const std::filesystem::path& input) {
  std::error_code ec;
  if (reads_stdin(input) || !std::filesystem::is_regular_file(input, ec)) return 0;
  const auto size = std::filesystem::file_size(input, ec);
  return ec ? 0 : size;
}

}  // namespace

TokenizeReport tokenize(const TokenizeOptions& options) {
  MTNLG_CHECK(options.workers >= 1, str("--workers must be at least 1, got ", options.workers));
  MTNLG_CHECK(!options.output_prefix.empty(), "--output-prefix is required");
  MTNLG_CHECK(!options.json_keys.empty(), "--json-keys needs at least one field");
  MTNLG_CHECK(is_json_lines(options.input) || options.json_keys.size() == 1,
              "plain-text input has one field; --json-keys applies to .jsonl input");
  const auto start = std::chrono::steady_clock::now();
  const auto tokenizer = tokenizer::Gpt2Tokenizer::load(
      options.vocab_dir.empty() ? tokenizer::Gpt2Tokenizer::default_dir() : options.vocab_dir);
  const DType dtype = tokenizer.vocab_size() <= 65536 ? DType::u16 : DType::i32;

  TokenizeReport report;
  std::vector<std::unique_ptr<IndexedDatasetWriter>> writers;
  for (const std::string& key : options.json_keys) {
    // Megatron's preprocess_data.py names its output <prefix>_<key>_document.
    report.outputs.emplace_back(str(options.output_prefix, "_", key, "_document"));
    writers.push_back(std::make_unique<IndexedDatasetWriter>(report.outputs.back(), dtype));
  }

  BadLines bad_lines(options.bad_lines);
  DocumentSource source(options.input, options.json_keys, bad_lines);
  BatchEncoder encoder(tokenizer, options.append_eod, options.workers);
  ProgressMeter progress("tokenize", input_size(options.input), options.progress);
  // Reading and parsing the next batch (one thread) overlaps tokenizing the current one (the workers).
  std::future<Batch> ahead = std::async(std::launch::async, [&source] { return source.next(); });
  for (;;) {
    Batch batch = ahead.get();
    if (batch.empty()) break;
    ahead = std::async(std::launch::async, [&source] { return source.next(); });
    const auto encoded = encoder.encode(batch.texts);
    for (std::size_t k = 0; k < encoded.size(); ++k)
      for (const auto& doc : encoded[k]) {
        writers[k]->add_document(doc);
        report.tokens += doc.size();
      }
    report.documents += batch.texts[0].size();
    report.bytes += batch.text_bytes;
    progress.update(batch.input_bytes_done, report.documents);
  }
  progress.finish();
  report.bad_lines_skipped = bad_lines.skipped();
  MTNLG_CHECK(report.documents > 0,
              str(reads_stdin(options.input) ? std::string("standard input") : options.input.string(),
                  " has no documents"));
  for (auto& w : writers) w->finalize();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace mtnlg::data
