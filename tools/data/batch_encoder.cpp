#include "batch_encoder.hpp"

#include <utility>

namespace mtnlg::data {

BatchEncoder::BatchEncoder(const tokenizer::Gpt2Tokenizer& tokenizer, bool append_eod, int workers)
    : tokenizer_(tokenizer),
      append_eod_(append_eod),
      workers_(static_cast<std::size_t>(workers)),
      start_(static_cast<std::ptrdiff_t>(workers)),
      done_(static_cast<std::ptrdiff_t>(workers)),
      errors_(workers_) {
  for (std::size_t w = 1; w < workers_; ++w) threads_.emplace_back([this, w] { work(w); });
}

BatchEncoder::~BatchEncoder() {
  stopping_ = true;  // published to the workers by the barrier
  start_.arrive_and_wait();
  for (auto& t : threads_) t.join();
}

BatchEncoder::Encoded BatchEncoder::encode(const Texts& texts) {
  Encoded encoded(texts.size());
  for (std::size_t k = 0; k < texts.size(); ++k) encoded[k].resize(texts[k].size());
  texts_ = &texts;
  encoded_ = &encoded;
  next_ = 0;
  start_.arrive_and_wait();
  encode_share(0);
  done_.arrive_and_wait();
  for (auto& e : errors_)
    if (e) std::rethrow_exception(std::exchange(e, nullptr));
  return encoded;
}

void BatchEncoder::work(std::size_t worker) {
  for (;;) {
    start_.arrive_and_wait();
    if (stopping_) return;
    encode_share(worker);
    done_.arrive_and_wait();
  }
}

void BatchEncoder::encode_share(std::size_t worker) {
  try {
    const std::size_t documents = (*texts_)[0].size(), total = texts_->size() * documents;
    for (std::size_t i = next_++; i < total; i = next_++) {
      const std::size_t k = i / documents, d = i % documents;
      auto& ids = (*encoded_)[k][d];
      ids = tokenizer_.encode((*texts_)[k][d]);
      if (append_eod_) ids.push_back(tokenizer_.eod());
    }
  } catch (...) {
    errors_[worker] = std::current_exception();
    next_ = texts_->size() * (*texts_)[0].size();  // the others stop too: the batch has failed
  }
}

}  // namespace mtnlg::data
