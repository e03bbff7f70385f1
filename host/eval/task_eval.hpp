#pragma once
// `mtnlg eval CKPT --task NAME --data FILE.jsonl --shots K`: zero-, one- and few-shot evaluation of a
// checkpoint on one of MT-NLG's tasks with lm-evaluation-harness's semantics (tools/tasks/README.md).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/inference_model.hpp"
#include "plugin_host/registry.hpp"
#include "tokenizer/gpt2_tokenizer.hpp"

namespace mtnlg::host::eval {

struct TaskEvalOptions {
  std::filesystem::path checkpoint;
  std::string task;            // a name of tools/tasks' registry
  std::filesystem::path data;  // the evaluated split, JSONL in the task's layout
  std::filesystem::path
      fewshot_data;  // the train split to draw few-shot examples from (needed when shots > 0)
  std::int64_t shots = 0;
  std::uint64_t seed = 1234;   // the few-shot draws' seed
  std::int64_t limit = 0;      // evaluate the first N documents; 0: all
  std::int64_t batch = 0;      // sequences per forward pass; 0: the recipe's train.micro_batch
  std::filesystem::path json;  // write the results here (atomically); empty: no file
  InferenceLayout layout;      // tensor × pipeline per replica; the rest of the world splits the batches
};

// One (context, continuation) scored: lm-evaluation-harness's loglikelihood request.
struct Scored {
  std::vector<std::int32_t> context_tokens;  // as encoded, before truncation to the model's length
  std::vector<std::int32_t> continuation_tokens;
  double loglikelihood = 0.0;  // sum over the continuation's tokens, natural log
  bool greedy = false;         // every continuation token is the argmax of its position
};

// Encodes each pair as the harness's _encode_pair does (trailing whitespace of the context moved to the front
// of the continuation; context + continuation encoded together and split after the context's own tokens; an
// empty context is <|endoftext|>), keeps the last seq_len + 1 tokens, and scores the continuation with the
// model, `batch` sequences per forward pass (longest first, padded on the right, which a causal model never
// sees). Collective: every rank calls it with the same requests; batch m runs on data-parallel replica
// m mod replicas, and every rank gets every score.
std::vector<Scored> score_requests(InferenceModel& model, const tokenizer::Gpt2Tokenizer& tokenizer,
                                   std::int64_t vocab, std::int64_t seq_len, std::int64_t batch,
                                   const std::vector<std::pair<std::string, std::string>>& requests);

// Loads the checkpoint (this rank's slice of options.layout), builds every document's requests, scores them,
// and on world rank 0 prints a table like MT-NLG's Figure 3 and writes options.json. Returns the exit code.
int evaluate_task(Registry& registry, const TaskEvalOptions& options);

}  // namespace mtnlg::host::eval
