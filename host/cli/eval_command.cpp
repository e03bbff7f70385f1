#include "cli/eval_command.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"
#include "training/checkpoint_model.hpp"

namespace mtnlg::host {

// The checkpoint holds the whole model in the single-rank layout; a sharded evaluation under mpirun needs the
// sharded checkpoints. Refuse a multi-rank launch rather than run it N times.
void require_one_process() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    const char* v = std::getenv(var);
    MTNLG_CHECK(v == nullptr || std::atoi(v) <= 1,
                str("mtnlg eval runs on one process for now (launched with ", var, "=", v,
                    "); run it without mpirun"));
  }
}

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

// Mean loss of one batch: every layer forward, no dropout; the loss layer gets the targets.
double batch_loss(Stage& stage, const std::vector<std::int32_t>& inputs,
                  const std::vector<std::int32_t>& targets, std::int64_t b, std::int64_t t) {
  Backend& be = stage.backend();
  Tensor x = be.empty({b, t}, DType::i32), y = be.empty({b, t}, DType::i32);
  be.upload(x, inputs.data());
  be.upload(y, targets.data());
  const auto& layers = stage.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    SavedState saved;
    const LayerStep step{
        be, stage.engine().params().layer_params(i), layers[i]->is_loss() ? &y : nullptr, 0, 0, false, false};
    x = layers[i]->forward(step, x, saved);
  }
  MTNLG_CHECK(layers.back()->is_loss() && x.numel() == 1, "the model does not end in a loss layer");
  double loss = 0.0;
  if (x.dtype() == DType::f64) {
    be.download(&loss, x);
  } else {
    float f = 0.0f;
    be.download(&f, x);
    be.synchronize();
    loss = f;
  }
  be.synchronize();
  return loss;
}

}  // namespace

int evaluate_perplexity(Registry& registry, const EvalOptions& options) {
  require_one_process();
  MTNLG_CHECK(options.batch >= 0, "--batch must be >= 0");
  MTNLG_CHECK(options.limit >= 0, "--limit must be >= 0");
  const auto start = std::chrono::steady_clock::now();
  const data::IndexedDataset ds = data::IndexedDataset::open(options.perplexity);
  const CheckpointModel model = load_checkpoint_model(registry, options.checkpoint);
  const std::int64_t seq_len = model.recipe.find_path("model.seq_len")->as_int();
  const std::int64_t vocab = model.recipe.find_path("model.vocab_size")->as_int();
  const std::int64_t batch =
      options.batch > 0 ? options.batch : model.recipe.find_path("train.micro_batch")->as_int();
  TokenWindows windows(ds, seq_len);
  std::int64_t todo = options.limit > 0 ? std::min(options.limit, windows.count()) : windows.count();
  MTNLG_CHECK(todo > 0, str(options.perplexity.string(), " has fewer than model.seq_len + 1 = ", seq_len + 1,
                            " tokens: nothing to evaluate"));
  double loss_sum = 0.0;  // over tokens
  std::int64_t done = 0;
  while (done < todo) {
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
    loss_sum += batch_loss(*model.stage, inputs, targets, b, seq_len) * static_cast<double>(b * seq_len);
    done += b;
  }
  const double mean = loss_sum / static_cast<double>(done * seq_len);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s on %s: %lld windows of %lld tokens (%lld tokens)\n", options.checkpoint.string().c_str(),
              options.perplexity.string().c_str(), static_cast<long long>(done),
              static_cast<long long>(seq_len), static_cast<long long>(done * seq_len));
  std::printf("mean loss %.9f, perplexity %.4f (%.2f s)\n", mean, std::exp(mean), seconds);
  return 0;
}

}  // namespace mtnlg::host
