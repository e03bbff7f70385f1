#include "cli/eval_command.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "eval/inference_model.hpp"
#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {

// The windows' tokens, read document after document: window w is tokens [w·T, w·T + T], inputs its first T,
// targets its last T.
class TokenWindows {
 public:
  TokenWindows(const data::IndexedDataset& ds, std::int64_t seq_len) : ds_(ds), seq_len_(seq_len) {
    std::int64_t tokens = 0;
    for (const std::int32_t n : ds.sequence_lengths()) tokens += n;
    windows_ = tokens > 0 ? (tokens - 1) / seq_len : 0;
  }
  std::int64_t count() const { return windows_; }

  // The next window's T + 1 tokens (the first one repeats the previous window's last).
  std::vector<std::int32_t> next() {
    while (static_cast<std::int64_t>(buffer_.size()) < seq_len_ + 1) {
      MTNLG_CHECK(sequence_ < ds_.sequence_count(), "internal: evaluation ran past the dataset");
      const auto n = static_cast<std::size_t>(ds_.sequence_lengths()[sequence_]);
      const auto more = ds_.tokens(sequence_++, 0, n);
      buffer_.insert(buffer_.end(), more.begin(), more.end());
    }
    std::vector<std::int32_t> window(buffer_.begin(), buffer_.begin() + seq_len_ + 1);
    buffer_.erase(buffer_.begin(), buffer_.begin() + seq_len_);
    return window;
  }

 private:
  const data::IndexedDataset& ds_;
  std::int64_t seq_len_;
  std::int64_t windows_ = 0;
  std::size_t sequence_ = 0;
  std::vector<std::int32_t> buffer_;
};

}  // namespace

int evaluate_perplexity(Registry& registry, const EvalOptions& options) {
  MTNLG_CHECK(options.batch >= 0, "--batch must be >= 0");
  MTNLG_CHECK(options.limit >= 0, "--limit must be >= 0");
  const auto start = std::chrono::steady_clock::now();
  const data::IndexedDataset ds = data::IndexedDataset::open(options.perplexity);
  eval::InferenceModel model(registry, options.checkpoint, options.layout);
  try {
    const std::int64_t seq_len = model.recipe().find_path("model.seq_len")->as_int();
    const std::int64_t vocab = model.recipe().find_path("model.vocab_size")->as_int();
    const std::int64_t batch =
        options.batch > 0 ? options.batch : model.recipe().find_path("train.micro_batch")->as_int();
    TokenWindows windows(ds, seq_len);
    const std::int64_t todo = options.limit > 0 ? std::min(options.limit, windows.count()) : windows.count();
    MTNLG_CHECK(todo > 0, str(options.perplexity.string(), " has fewer than model.seq_len + 1 = ",
                              seq_len + 1, " tokens: nothing to evaluate"));
    // Batch m runs on data-parallel replica m mod replicas; each replica's reporting rank adds its batches'
    // token-weighted losses, and the sum over the world has them all.
    double loss_sum = 0.0;  // over tokens
    std::int64_t done = 0;
    for (std::int64_t m = 0; done < todo; ++m) {
      const std::int64_t b = std::min(batch, todo - done);
      std::vector<std::int32_t> inputs, targets;
      for (std::int64_t w = 0; w < b; ++w) {
        const std::vector<std::int32_t> window = windows.next();
        for (std::int64_t i = 0; i <= seq_len; ++i)
          MTNLG_CHECK(window[i] >= 0 && window[i] < vocab,
                      str(options.perplexity.string(), ": token ", window[i], " in window ", done + w,
                          " is outside the model's vocabulary of ", vocab));
        inputs.insert(inputs.end(), window.begin(), window.end() - 1);
        targets.insert(targets.end(), window.begin() + 1, window.end());
      }
      done += b;
      if (m % model.replicas() != model.replica()) continue;
      const double loss = model.loss(inputs, targets, b, seq_len);
      if (model.reports()) loss_sum += loss * static_cast<double>(b * seq_len);
    }
    loss_sum = model.sum_over_world({loss_sum}).front();
    if (!model.prints()) return 0;
    const double mean = loss_sum / static_cast<double>(done * seq_len);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s on %s: %lld windows of %lld tokens (%lld tokens) on %s\n",
                options.checkpoint.string().c_str(), options.perplexity.string().c_str(),
                static_cast<long long>(done), static_cast<long long>(seq_len),
                static_cast<long long>(done * seq_len), model.topology().describe().c_str());
    std::printf("mean loss %.9f, perplexity %.4f (%.2f s)\n", mean, std::exp(mean), seconds);
  } catch (const std::exception& e) {
    model.abort_job(e);
  }
  return 0;
}

}  // namespace mtnlg::host
