#include "cli/generate_command.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <random>

#include "eval/model_logits.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"
#include "tokenizer/gpt2_tokenizer.hpp"
#include "training/checkpoint_model.hpp"

namespace mtnlg::host {

namespace {

// Logits of the last position for `context` (1, T): the evaluation path's forward, no dropout.
std::vector<double> next_token_logits(Stage& stage, const std::vector<std::int32_t>& context) {
  const auto t = static_cast<std::int64_t>(context.size());
  const Tensor logits = eval::forward_logits(stage, context, 1, t);  // (T, V)
  return eval::download_rows(stage.backend(), logits, t - 1, 1);
}

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

}  // namespace

int generate(Registry& registry, const GenerateOptions& options) {
  MTNLG_CHECK(options.max_tokens >= 0, "--max-tokens must be >= 0");
  MTNLG_CHECK(options.temperature >= 0.0, "--temperature must be >= 0");
  MTNLG_CHECK(options.top_k >= 0, "--top-k must be >= 0");
  MTNLG_CHECK(options.top_p > 0.0 && options.top_p <= 1.0, "--top-p must be in (0, 1]");
  const CheckpointModel model = load_checkpoint_model(registry, options.checkpoint);
  const Table& recipe = model.recipe;
  Stage& stage = *model.stage;

  const auto tokenizer = tokenizer::Gpt2Tokenizer::load(tokenizer::Gpt2Tokenizer::default_dir());
  const std::int64_t vocab = recipe.find_path("model.vocab_size")->as_int();
  const std::int64_t seq_len = recipe.find_path("model.seq_len")->as_int();
  MTNLG_CHECK(vocab == tokenizer.vocab_size(),
              str("the model's vocabulary has ", vocab, " tokens, GPT-2 BPE has ", tokenizer.vocab_size(),
                  "; generation needs a model trained on GPT-2 tokens"));
  std::vector<std::int32_t> tokens = tokenizer.encode(options.prompt);
  if (tokens.empty()) tokens.push_back(tokenizer.eod());  // an empty prompt starts a new document
  const std::size_t prompt_tokens = tokens.size();
  std::mt19937_64 gen(options.seed);
  for (int i = 0; i < options.max_tokens; ++i) {
    // The model sees at most seq_len tokens: the most recent ones.
    const std::size_t start = tokens.size() > static_cast<std::size_t>(seq_len) ? tokens.size() - seq_len : 0;
    const std::vector<std::int32_t> context(tokens.begin() + static_cast<std::ptrdiff_t>(start),
                                            tokens.end());
    const std::int32_t next = sample(next_token_logits(stage, context), vocab, options, gen);
    if (next == tokenizer.eod()) break;
    tokens.push_back(next);
  }
  std::cout << options.prompt << tokenizer.decode(std::span(tokens).subspan(prompt_tokens)) << "\n";
  return 0;
}

}  // namespace mtnlg::host
