#include "tokenize_command.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "tokenizer/gpt2_tokenizer.hpp"

namespace mtnlg::data {

namespace {

// Documents are read, tokenized and written in batches: memory stays bounded, and since each batch is split
// into contiguous slices per worker and written back in input order, the output does not depend on workers.
constexpr std::size_t kBatchDocuments = 4096;

bool is_json_lines(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".jsonl" || ext == ".json";
}

// Reads the next batch of documents: per key, the texts in input order. Returns false at the end of input.
class DocumentSource {
 public:
  DocumentSource(const std::filesystem::path& input, std::vector<std::string> keys)
      : in_(input, std::ios::binary), path_(input), keys_(std::move(keys)), json_(is_json_lines(input)) {
    MTNLG_CHECK(in_.good(), str("cannot read ", input.string(), ": no such file or not readable"));
  }

  bool next(std::vector<std::vector<std::string>>& batch, std::size_t& bytes) {
    batch.assign(keys_.size(), {});
    std::string line, paragraph;
    while (batch[0].size() < kBatchDocuments && std::getline(in_, line)) {
      ++line_number_;
      if (json_) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json doc;
        try {
          doc = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
          fail(str(path_.string(), ":", line_number_, ": not a JSON object: ", e.what()));
        }
        for (std::size_t k = 0; k < keys_.size(); ++k) {
          const auto it = doc.find(keys_[k]);
          MTNLG_CHECK(it != doc.end() && it->is_string(),
                      str(path_.string(), ":", line_number_, ": no string field '", keys_[k],
                          "' (choose the field with --json-keys)"));
          batch[k].push_back(it->get<std::string>());
          bytes += batch[k].back().size();
        }
      } else if (line.find_first_not_of(" \t\r") == std::string::npos) {
        flush_paragraph(batch, bytes);
      } else {
        pending_ += pending_.empty() ? line : "\n" + line;
      }
    }
    if (!in_) flush_paragraph(batch, bytes);
    return !batch[0].empty();
  }

 private:
  void flush_paragraph(std::vector<std::vector<std::string>>& batch, std::size_t& bytes) {
    if (pending_.empty()) return;
    bytes += pending_.size();
    batch[0].push_back(std::move(pending_));
    pending_.clear();
  }

  std::ifstream in_;
  std::filesystem::path path_;
  std::vector<std::string> keys_;
  bool json_;
  std::size_t line_number_ = 0;
  std::string pending_;
};

}  // namespace

TokenizeReport tokenize(const TokenizeOptions& options) {
  MTNLG_CHECK(options.workers >= 1, str("--workers must be at least 1, got ", options.workers));
  MTNLG_CHECK(!options.output_prefix.empty(), "--output-prefix is required");
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

  DocumentSource source(options.input, options.json_keys);
  std::vector<std::vector<std::string>> batch;
  std::vector<std::vector<std::int32_t>> encoded;
  while (source.next(batch, report.bytes)) {
    for (std::size_t k = 0; k < batch.size(); ++k) {
      const auto& texts = batch[k];
      encoded.assign(texts.size(), {});
      const std::size_t per_worker = (texts.size() + options.workers - 1) / options.workers;
      std::vector<std::thread> threads;
      std::vector<std::exception_ptr> errors(options.workers);
      for (int w = 0; w < options.workers; ++w) {
        threads.emplace_back([&, w] {
          try {
            for (std::size_t i = w * per_worker; i < std::min(texts.size(), (w + 1) * per_worker); ++i) {
              encoded[i] = tokenizer.encode(texts[i]);
              if (options.append_eod) encoded[i].push_back(tokenizer.eod());
            }
          } catch (...) {
            errors[w] = std::current_exception();
          }
        });
      }
      for (auto& t : threads) t.join();
      for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
      for (const auto& doc : encoded) {
        writers[k]->add_document(doc);
        report.tokens += doc.size();
      }
    }
    report.documents += batch[0].size();
  }
  MTNLG_CHECK(report.documents > 0, str(options.input.string(), " has no documents"));
  for (auto& w : writers) w->finalize();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace mtnlg::data
