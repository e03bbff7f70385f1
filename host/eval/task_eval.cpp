#include "eval/task_eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "eval/inference_model.hpp"
#include "eval/model_logits.hpp"
#include "eval/task_requests.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "tasks/task_spec.hpp"

namespace mtnlg::host::eval {

namespace {

// The harness's _encode_pair (see task_eval.hpp).
std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> encode_pair(
    const tokenizer::Gpt2Tokenizer& tokenizer, std::string context, std::string continuation) {
  const std::size_t kept = context.find_last_not_of(" \t\n\v\f\r");
  const std::size_t spaces = kept == std::string::npos ? context.size() : context.size() - kept - 1;
  if (context.empty() || spaces == context.size()) {
    // An empty context is the end-of-text token, as the harness has it; a context of spaces only would leave
    // nothing before the continuation, so it is treated the same way with the spaces kept in front.
    return {{tokenizer.eod()}, tokenizer.encode(context + continuation)};
  }
  continuation = context.substr(context.size() - spaces) + continuation;
  context.resize(context.size() - spaces);
  std::vector<std::int32_t> whole = tokenizer.encode(context + continuation);
  std::vector<std::int32_t> context_tokens = tokenizer.encode(context);
  std::vector<std::int32_t> continuation_tokens(
      whole.begin() + static_cast<std::ptrdiff_t>(std::min(context_tokens.size(), whole.size())),
      whole.end());
  return {std::move(context_tokens), std::move(continuation_tokens)};
}

std::string shots_column(std::int64_t k) {
  if (k == 0) return "Zero-shot";
  if (k == 1) return "One-shot";
  return str("Few-shot (", k, ")");
}

// Writes `text` to `path` through a temporary file in the same directory, renamed when complete, so that a
// failed or interrupted run leaves no partial file behind.
void write_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + str(".tmp-", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MTNLG_CHECK(out.good(), str("cannot write ", path.string(), " (cannot create ", tmp.string(), ")"));
    out << text;
    out.close();
    if (!out) {
      std::filesystem::remove(tmp);
      fail(str("cannot write ", path.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    fail(str("cannot write ", path.string(), ": ", ec.message()));
  }
}

}  // namespace

std::vector<Scored> score_requests(InferenceModel& model, const tokenizer::Gpt2Tokenizer& tokenizer,
                                   std::int64_t vocab, std::int64_t seq_len, std::int64_t batch,
                                   const std::vector<std::pair<std::string, std::string>>& requests) {
  std::vector<Scored> scored(requests.size());
  std::vector<std::vector<std::int32_t>> inputs(
      requests.size());  // the model's input: the last seq_len tokens
  for (std::size_t r = 0; r < requests.size(); ++r) {
    auto [context, continuation] = encode_pair(tokenizer, requests[r].first, requests[r].second);
    MTNLG_CHECK(!continuation.empty(),
                str("the continuation '", requests[r].second, "' encodes to no tokens"));
    MTNLG_CHECK(static_cast<std::int64_t>(continuation.size()) <= seq_len,
                str("the continuation '", requests[r].second, "' has ", continuation.size(),
                    " tokens, more than the model's model.seq_len = ", seq_len));
    std::vector<std::int32_t> all = context;
    all.insert(all.end(), continuation.begin(), continuation.end());
    // (context + continuation)[-(seq_len + 1):][:-1]: truncated from the left, the last token only a target.
    const std::size_t from =
        all.size() > static_cast<std::size_t>(seq_len + 1) ? all.size() - seq_len - 1 : 0;
    inputs[r].assign(all.begin() + static_cast<std::ptrdiff_t>(from), all.end() - 1);
    scored[r].context_tokens = std::move(context);
    scored[r].continuation_tokens = std::move(continuation);
  }
  // Longest first, as the harness orders them, so that each batch is padded to its first sequence's length.
  std::vector<std::size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return inputs[a].size() > inputs[b].size(); });
  // Batch m runs on data-parallel replica m mod replicas; its reporting rank scores it, and a sum over the
  // world (every request scored by exactly one rank) gives every rank all the scores.
  Backend& be = model.backend();
  std::vector<double> results(2 * requests.size(), 0.0);  // per request: loglikelihood, greedy (0 or 1)
  const auto batch_size = static_cast<std::size_t>(batch);
  for (std::size_t start = 0, m = 0; start < order.size(); start += batch_size, ++m) {
    if (static_cast<int>(m % static_cast<std::size_t>(model.replicas())) != model.replica()) continue;
    const std::size_t end = std::min(order.size(), start + batch_size);
    const auto b = static_cast<std::int64_t>(end - start);
    const auto t = static_cast<std::int64_t>(inputs[order[start]].size());
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(b * t), 0);
    for (std::size_t i = start; i < end; ++i)
      std::copy(inputs[order[i]].begin(), inputs[order[i]].end(),
                tokens.begin() + static_cast<std::ptrdiff_t>((i - start) * static_cast<std::size_t>(t)));
    const Tensor logits = model.logits(tokens, b, t);  // (b·t, padded_vocab) where held
    if (!model.reports()) continue;
    const std::int64_t columns = logits.shape()[1];
    for (std::size_t i = start; i < end; ++i) {
      const Scored& s = scored[order[i]];
      const auto length = static_cast<std::int64_t>(inputs[order[i]].size());
      const auto n = static_cast<std::int64_t>(s.continuation_tokens.size());
      // Rows length - n .. length - 1 of this sequence predict the continuation's n tokens.
      const std::vector<double> rows =
          download_rows(be, logits, static_cast<std::int64_t>(i - start) * t + length - n, n);
      double loglikelihood = 0.0;
      bool greedy = true;
      for (std::int64_t j = 0; j < n; ++j) {
        const auto [logprob, top] = token_logprob(rows.data() + j * columns, vocab,
                                                  s.continuation_tokens[static_cast<std::size_t>(j)]);
        loglikelihood += logprob;
        greedy = greedy && top;
      }
      results[2 * order[i]] = loglikelihood;
      results[2 * order[i] + 1] = greedy ? 1.0 : 0.0;
    }
  }
  results = model.sum_over_world(std::move(results));
  for (std::size_t r = 0; r < scored.size(); ++r) {
    scored[r].loglikelihood = results[2 * r];
    scored[r].greedy = results[2 * r + 1] != 0.0;
  }
  return scored;
}

int evaluate_task(Registry& registry, const TaskEvalOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const tasks::TaskSpec& spec = tasks::task(options.task);  // fails listing the known tasks
  MTNLG_CHECK(!options.data.empty(),
              str("--task ", spec.name, " needs --data FILE.jsonl (the split to evaluate)"));
  MTNLG_CHECK(options.shots >= 0, "--shots must be >= 0");
  MTNLG_CHECK(options.limit >= 0, "--limit must be >= 0");
  MTNLG_CHECK(options.batch >= 0, "--batch must be >= 0");
  MTNLG_CHECK(options.shots == 0 || !options.fewshot_data.empty(),
              str("--shots ", options.shots,
                  " needs --fewshot-data FILE.jsonl (the task's train split) to draw the examples from"));

  // Everything that can be wrong with the data is found before the model is loaded.
  std::vector<TaskDocument> docs = load_task_documents(spec, options.data);
  if (options.limit > 0 && static_cast<std::size_t>(options.limit) < docs.size())
    docs.resize(static_cast<std::size_t>(options.limit));
  std::vector<TaskDocument> pool;
  if (options.shots > 0) {
    pool = load_task_documents(spec, options.fewshot_data);
    MTNLG_CHECK(static_cast<std::size_t>(options.shots) <= pool.size(),
                str("--shots ", options.shots, " but ", options.fewshot_data.string(), " has only ",
                    pool.size(), " documents to draw few-shot examples from"));
  }
  std::mt19937_64 rng(options.seed);
  std::vector<std::vector<std::size_t>> shots(docs.size());
  std::vector<std::pair<std::string, std::string>> requests;
  std::vector<std::size_t> first_request(docs.size() + 1, 0);
  for (std::size_t d = 0; d < docs.size(); ++d) {
    try {
      shots[d] = draw_fewshot(pool, docs[d].doc, options.shots, rng, options.fewshot_data);
    } catch (const Error& e) {
      fail(str(options.data.string(), ":", docs[d].line, ": ", e.what()));
    }
    std::vector<const tasks::TaskPrompt*> examples;
    for (const std::size_t s : shots[d]) examples.push_back(&pool[s].prompt);
    for (auto& r : build_requests(docs[d].prompt, examples))
      requests.emplace_back(std::move(r.context), std::move(r.continuation));
    first_request[d + 1] = requests.size();
  }

  InferenceModel model(registry, options.checkpoint, options.layout);
  try {
    const auto tokenizer = tokenizer::Gpt2Tokenizer::load(tokenizer::Gpt2Tokenizer::default_dir());
    const std::int64_t vocab = model.recipe().find_path("model.vocab_size")->as_int();
    const std::int64_t seq_len = model.recipe().find_path("model.seq_len")->as_int();
    const std::int64_t batch =
        options.batch > 0 ? options.batch : model.recipe().find_path("train.micro_batch")->as_int();
    MTNLG_CHECK(vocab == tokenizer.vocab_size(),
                str("the model's vocabulary has ", vocab, " tokens, GPT-2 BPE has ", tokenizer.vocab_size(),
                    "; task evaluation needs a model trained on GPT-2 tokens"));
    const std::vector<Scored> scored = score_requests(model, tokenizer, vocab, seq_len, batch, requests);

    // Metrics, per document as the harness's process_results, then averaged.
    const bool completion = spec.scoring == tasks::Scoring::completion;
    const bool has_norm = !docs.empty() && !docs.front().prompt.norm_lengths.empty();
    double acc = 0.0, acc_norm = 0.0, ll_sum = 0.0;
    nlohmann::json items = nlohmann::json::array();
    for (std::size_t d = 0; d < docs.size(); ++d) {
      const tasks::TaskPrompt& p = docs[d].prompt;
      std::vector<double> lls;
      nlohmann::json reqs = nlohmann::json::array();
      for (std::size_t r = first_request[d]; r < first_request[d + 1]; ++r) {
        lls.push_back(scored[r].loglikelihood);
        reqs.push_back({{"context", requests[r].first},
                        {"continuation", requests[r].second},
                        {"context_tokens", scored[r].context_tokens},
                        {"continuation_tokens", scored[r].continuation_tokens},
                        {"loglikelihood", scored[r].loglikelihood},
                        {"is_greedy", scored[r].greedy}});
      }
      nlohmann::json item = {{"line", docs[d].line}, {"gold", p.gold}, {"requests", std::move(reqs)}};
      nlohmann::json fewshot_lines = nlohmann::json::array();
      for (const std::size_t s : shots[d]) fewshot_lines.push_back(pool[s].line);
      item["fewshot_lines"] = std::move(fewshot_lines);
      if (completion) {
        const bool greedy = scored[first_request[d]].greedy;
        acc += greedy ? 1.0 : 0.0;
        ll_sum += lls.front();
      } else {
        const auto pred =
            std::max_element(lls.begin(), lls.end()) - lls.begin();  // first maximum, as np.argmax
        item["pred"] = pred;
        acc += pred == p.gold ? 1.0 : 0.0;
        if (has_norm) {
          std::vector<double> normed(lls.size());
          for (std::size_t i = 0; i < lls.size(); ++i) normed[i] = lls[i] / p.norm_lengths[i];
          const auto pred_norm = std::max_element(normed.begin(), normed.end()) - normed.begin();
          item["pred_norm"] = pred_norm;
          acc_norm += pred_norm == p.gold ? 1.0 : 0.0;
        }
      }
      items.push_back(std::move(item));
    }
    const auto n = static_cast<double>(docs.size());
    nlohmann::json metrics = {{"acc", acc / n}};
    if (has_norm) metrics["acc_norm"] = acc_norm / n;
    if (completion) metrics["ppl"] = std::exp(-ll_sum / n);  // metrics.py perplexity: exp(-mean(ll))

    if (!model.prints()) return 0;  // world rank 0 prints and writes the results
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("| Category | Tasks | %s |\n|---|---|---|\n| %s | %s | %.3f |\n",
                shots_column(options.shots).c_str(), spec.category.c_str(), spec.display_name.c_str(),
                acc / n);
    std::string line = str(spec.name, ": ", docs.size(), " documents of ", options.data.string(), ", ",
                           options.shots, "-shot (seed ", options.seed, "), ", requests.size(),
                           " requests on ", model.topology().describe(), ": acc ");
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.4f", acc / n);
    line += buffer;
    if (has_norm) {
      std::snprintf(buffer, sizeof buffer, ", acc_norm %.4f", acc_norm / n);
      line += buffer;
    }
    if (completion) {
      std::snprintf(buffer, sizeof buffer, ", ppl %.4f", std::exp(-ll_sum / n));
      line += buffer;
    }
    std::snprintf(buffer, sizeof buffer, " (%.2f s)", seconds);
    std::printf("%s%s\n", line.c_str(), buffer);

    if (!options.json.empty()) {
      const nlohmann::json out = {{"task", spec.name},
                                  {"display_name", spec.display_name},
                                  {"category", spec.category},
                                  {"checkpoint", options.checkpoint.string()},
                                  {"data", options.data.string()},
                                  {"fewshot_data", options.fewshot_data.string()},
                                  {"shots", options.shots},
                                  {"seed", options.seed},
                                  {"documents", docs.size()},
                                  {"seq_len", seq_len},
                                  {"layout", model.topology().describe()},
                                  {"metrics", std::move(metrics)},
                                  {"items", std::move(items)}};
      write_atomically(options.json,
                       out.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
  } catch (const std::exception& e) {
    model.abort_job(e);
  }
  return 0;
}

}  // namespace mtnlg::host::eval
