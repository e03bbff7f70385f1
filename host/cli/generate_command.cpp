#include "cli/generate_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>

#include "eval/model_logits.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "tokenizer/gpt2_tokenizer.hpp"

namespace mtnlg::host {

namespace {

using Clock = std::chrono::steady_clock;

// Temperature, then top-k, then top-p (nucleus) over the real vocabulary; greedy at temperature 0.
std::int32_t sample(std::vector<double> logits, std::int64_t vocab, const GenerateOptions& o,
                    std::mt19937_64& gen) {
  logits.resize(static_cast<std::size_t>(vocab));  // padded columns are never candidates
  if (o.temperature <= 0.0)
    return static_cast<std::int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return logits[a] > logits[b]; });
  if (o.top_k > 0 && static_cast<std::size_t>(o.top_k) < order.size())
    order.resize(static_cast<std::size_t>(o.top_k));
  const double top = logits[order[0]];
  std::vector<double> p(order.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < order.size(); ++i)
    sum += p[i] = std::exp((logits[order[i]] - top) / o.temperature);
  std::size_t keep = order.size();
  if (o.top_p < 1.0) {
    double cumulative = 0.0;
    for (keep = 0; keep < order.size() && cumulative < o.top_p * sum;) cumulative += p[keep++];
  }
  std::discrete_distribution<std::size_t> pick(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(keep));
  return order[pick(gen)];
}

// Where the next token's logits come from: the key-value cache (prefill once, then one position per token)
// or the whole context again for every token. Collective: every rank of the replica calls next() alike.
class NextTokenLogits {
 public:
  NextTokenLogits(eval::InferenceModel& model, std::int64_t seq_len, bool recompute)
      : model_(model), seq_len_(seq_len), recompute_(recompute) {}

  struct Step {
    std::vector<double> logits;  // (padded_vocab) on the rank that reports, empty elsewhere
    std::int64_t positions = 0;  // positions run through the model
    bool prefill = false;        // the whole context (or its recent half) rather than one new position
  };
  // The logits predicting the token after `tokens`.
  Step next(const std::vector<std::int32_t>& tokens) {
    const auto n = static_cast<std::int64_t>(tokens.size());
    if (recompute_ || cached_ == 0 || cached_ == seq_len_) {
      // Prefill: the most recent seq_len tokens, or, when a full cache restarts, the most recent half, so
      // that the next seq_len / 2 tokens decode one position at a time again.
      const std::int64_t keep =
          recompute_ || cached_ == 0 ? std::min(n, seq_len_) : std::max<std::int64_t>(1, seq_len_ / 2);
      const std::vector<std::int32_t> context(tokens.end() - keep, tokens.end());
      cache_.clear();
      const Tensor logits =
          model_.logits(context, 1, keep, recompute_ ? nullptr : &cache_, recompute_ ? -1 : 0);
      cached_ = recompute_ ? 0 : keep;
      // Without the cache only the first call is the prompt's prefill; later ones each decode one token (by
      // rerunning the context), which is what the two modes' decode rates compare.
      const bool prefill = !recompute_ || !started_;
      started_ = true;
      return {row(logits, keep - 1), prefill ? keep : 1, prefill};
    }
    // Decode: the newest token at position cached_, its query attending to the cached keys and values.
    const Tensor logits = model_.logits(std::span(tokens).last(1), 1, 1, &cache_, cached_);
    ++cached_;
    return {row(logits, 0), 1, false};
  }

 private:
  std::vector<double> row(const Tensor& logits, std::int64_t r) {
    if (!model_.reports()) return {};
    return eval::download_rows(model_.backend(), logits, r, 1);
  }

  eval::InferenceModel& model_;
  std::int64_t seq_len_;
  bool recompute_;
  std::vector<SavedState> cache_;  // per local layer: the attention layers' keys and values
  std::int64_t cached_ = 0;        // positions in the cache
  bool started_ = false;           // the prompt has run
};

// The first stop sequence's position in `text`, or npos.
std::size_t find_stop(const std::string& text, const std::vector<std::string>& stops) {
  std::size_t at = std::string::npos;
  for (const std::string& s : stops) at = std::min(at, text.find(s));
  return at;
}

}  // namespace

int generate(Registry& registry, const GenerateOptions& options) {
  MTNLG_CHECK(options.max_tokens >= 0, "--max-tokens must be >= 0");
  MTNLG_CHECK(options.temperature >= 0.0, "--temperature must be >= 0");
  MTNLG_CHECK(options.top_k >= 0, "--top-k must be >= 0");
  MTNLG_CHECK(options.top_p > 0.0 && options.top_p <= 1.0, "--top-p must be in (0, 1]");
  for (const std::string& s : options.stop) MTNLG_CHECK(!s.empty(), "--stop must not be empty");
  eval::InferenceModel model(registry, options.checkpoint, options.layout);
  try {
    const Table& recipe = model.recipe();
    const auto tokenizer = tokenizer::Gpt2Tokenizer::load(tokenizer::Gpt2Tokenizer::default_dir());
    const std::int64_t vocab = recipe.find_path("model.vocab_size")->as_int();
    const std::int64_t seq_len = recipe.find_path("model.seq_len")->as_int();
    MTNLG_CHECK(vocab == tokenizer.vocab_size(),
                str("the model's vocabulary has ", vocab, " tokens, GPT-2 BPE has ", tokenizer.vocab_size(),
                    "; generation needs a model trained on GPT-2 tokens"));
    std::vector<std::int32_t> tokens = tokenizer.encode(options.prompt);
    if (tokens.empty()) tokens.push_back(tokenizer.eod());  // an empty prompt starts a new document
    const std::size_t prompt_tokens = tokens.size();
    // One rank samples (replica 0's reporting rank) and every rank learns its choice through a world sum.
    const bool samples = model.reports() && model.replica() == 0;
    std::mt19937_64 gen(options.seed);
    std::ofstream dump;
    if (samples && !options.dump_logits.empty()) {
      dump.open(options.dump_logits, std::ios::binary | std::ios::trunc);
      MTNLG_CHECK(dump.good(), str("cannot write ", options.dump_logits));
    }
    NextTokenLogits source(model, seq_len, options.recompute);
    double prefill_s = 0.0, decode_s = 0.0;
    std::int64_t prefill_tokens = 0, decode_tokens = 0;
    std::string text;  // the continuation, cut before a stop sequence
    for (int i = 0; i < options.max_tokens; ++i) {
      const auto started = Clock::now();
      NextTokenLogits::Step step = source.next(tokens);
      std::int32_t next = 0;
      if (samples) {
        if (dump.is_open())
          dump.write(reinterpret_cast<const char*>(step.logits.data()),
                     static_cast<std::streamsize>(static_cast<std::size_t>(vocab) * sizeof(double)));
        next = sample(std::move(step.logits), vocab, options, gen);
      }
      next = static_cast<std::int32_t>(model.sum_over_world({static_cast<double>(next)}).front());
      const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      if (step.prefill) {
        prefill_s += seconds;
        prefill_tokens += step.positions;
      } else {
        decode_s += seconds;
        ++decode_tokens;
      }
      if (next == tokenizer.eod()) break;
      tokens.push_back(next);
      text = tokenizer.decode(std::span(tokens).subspan(prompt_tokens));
      if (const std::size_t at = find_stop(text, options.stop); at != std::string::npos) {
        text.resize(at);
        break;
      }
    }
    if (dump.is_open()) {
      dump.close();
      MTNLG_CHECK(dump.good(), str("writing ", options.dump_logits, " failed"));
    }
    if (!model.prints()) return 0;
    std::cout << options.prompt << text << "\n" << std::flush;
    const auto rate = [](std::int64_t n, double s) { return s > 0.0 ? static_cast<double>(n) / s : 0.0; };
    std::fprintf(stderr,
                 "generate: %s on %s; prefill %lld tokens in %.3f s (%.1f tokens/s), decode %lld tokens in "
                 "%.3f s (%.1f tokens/s)\n",
                 options.recompute ? "no key-value cache" : "key-value cache",
                 model.topology().describe().c_str(), static_cast<long long>(prefill_tokens), prefill_s,
                 rate(prefill_tokens, prefill_s), static_cast<long long>(decode_tokens), decode_s,
                 rate(decode_tokens, decode_s));
  } catch (const std::exception& e) {
    model.abort_job(e);
  }
  return 0;
}

}  // namespace mtnlg::host
