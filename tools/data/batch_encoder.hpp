#pragma once
// The tokenize command's worker threads. They live for the whole run, not one batch: the GPT-2 tokenizer
// caches the words each thread has encoded (thread-local), and on real text most words repeat, so a thread
// that outlives its batch keeps a warm cache (fresh threads per batch made tokenizing ~2x slower).
#include <atomic>
#include <barrier>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/gpt2_tokenizer.hpp"

namespace mtnlg::data {

class BatchEncoder {
 public:
  using Texts = std::vector<std::vector<std::string>>;                  // [field][document]
  using Encoded = std::vector<std::vector<std::vector<std::int32_t>>>;  // [field][document] token ids

  BatchEncoder(const tokenizer::Gpt2Tokenizer& tokenizer, bool append_eod, int workers);
  BatchEncoder(const BatchEncoder&) = delete;
  BatchEncoder& operator=(const BatchEncoder&) = delete;
  ~BatchEncoder();

  // Encodes every text with all workers (the calling thread is one of them): each takes the next untaken
  // document, since documents vary in length. Results are in input order, so they do not depend on which
  // worker encoded what. Rethrows a worker's exception.
  Encoded encode(const Texts& texts);

 private:
  void work(std::size_t worker);  // worker 0 is the caller's thread
  void encode_share(std::size_t worker);

  const tokenizer::Gpt2Tokenizer& tokenizer_;
  bool append_eod_;
  std::size_t workers_;
  std::barrier<> start_, done_;  // every worker and the caller: a batch begins; a batch is encoded
  const Texts* texts_ = nullptr;
  Encoded* encoded_ = nullptr;
  std::atomic<std::size_t> next_{0};
  std::vector<std::exception_ptr> errors_;  // one per worker
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mtnlg::data
