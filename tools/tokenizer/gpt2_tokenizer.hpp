#pragma once
// GPT-2's byte-level BPE tokenizer: the ids OpenAI's encoder.py gives, from its encoder.json and vocab.bpe.
// See README.md beside this file for what is matched exactly and how text that is not valid UTF-8 is handled.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtnlg::tokenizer {

class Gpt2Tokenizer {
 public:
  // Loads encoder.json and vocab.bpe from `dir`; throws mtnlg::Error naming the file (and the line of
  // vocab.bpe) and what is wrong: missing file, bad JSON, a merge line without two tokens, a merge of unknown
  // tokens.
  static Gpt2Tokenizer load(const std::filesystem::path& dir);
  // The vocabulary shipped with mtnlg: tools/tokenizer/gpt2 in the source tree (a compile definition).
  static std::filesystem::path default_dir();

  // Thread-safe: each thread keeps its own cache of words it has encoded. Bytes that are not valid UTF-8 are
  // encoded as they are (each run of them is a word of its own), so decode(encode(s)) == s for any bytes.
  std::vector<std::int32_t> encode(std::string_view utf8) const;
  // The bytes the ids stand for; ids that split a character give its bytes as they are, not U+FFFD.
  // Ids outside the vocabulary: mtnlg::Error.
  std::string decode(std::span<const std::int32_t> ids) const;
  std::int32_t eod() const;         // <|endoftext|> = 50256
  std::int32_t vocab_size() const;  // 50257

  // Copyable and movable: the vocabulary is immutable and shared, so copies are cheap. A moved-from tokenizer
  // may only be assigned to or destroyed.

 private:
  struct Vocab;
  explicit Gpt2Tokenizer(std::shared_ptr<const Vocab> vocab) : vocab_(std::move(vocab)) {}
  std::shared_ptr<const Vocab> vocab_;
};

}  // namespace mtnlg::tokenizer
