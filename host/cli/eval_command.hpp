#pragma once
// `mtnlg eval CKPT --perplexity DATA_PREFIX`: the mean loss and perplexity of a checkpoint's model on a
// Megatron indexed dataset, so that a model (an imported GPT-2 among them) can be checked against another
// implementation on the same tokens.
#include <cstdint>
#include <filesystem>

#include "eval/inference_model.hpp"
#include "plugin_host/registry.hpp"

namespace mtnlg::host {

struct EvalOptions {
  std::filesystem::path checkpoint;  // RUN_DIR/checkpoint, or a converted one
  std::filesystem::path perplexity;  // an indexed dataset prefix (PREFIX.bin, PREFIX.idx)
  std::int64_t batch = 0;            // windows per forward pass; 0: the recipe's train.micro_batch
  std::int64_t limit = 0;            // evaluate at most this many windows; 0: all
  eval::InferenceLayout layout;  // tensor × pipeline per replica; the rest of the world splits the windows
};

// The dataset's documents, concatenated in order, are cut into non-overlapping windows of model.seq_len
// inputs, each predicting the next token (so N tokens give (N - 1) / seq_len windows; the rest is left out).
// Prints (world rank 0) the number of windows and tokens, the mean loss (nats per token) and its exponential.
// Collective under mpirun: any layout of options.layout gives the same value to summation order.
int evaluate_perplexity(Registry& registry, const EvalOptions& options);

}  // namespace mtnlg::host
