#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/inference_model.hpp"
#include "plugin_host/registry.hpp"

namespace mtnlg::host {

struct GenerateOptions {
  std::filesystem::path checkpoint;  // a directory written by `mtnlg train` (RUN_DIR/checkpoint)
  std::string prompt;
  int max_tokens = 64;
  double temperature = 1.0;  // 0: greedy
  int top_k = 0;             // 0: no top-k cut
  double top_p = 1.0;        // 1: no nucleus cut
  std::uint64_t seed = 1234;
  std::vector<std::string> stop;  // stop sequences: generation ends when the new text contains one
  bool recompute = false;         // no key-value cache: the whole context runs again for every token
  eval::InferenceLayout layout;   // under mpirun: tensor × pipeline (other ranks replicate it)
  std::string dump_logits;        // tests: each generated position's logits, f64, vocab_size per row
};

// `mtnlg generate`: loads the checkpoint's model (this rank's slice of options.layout), encodes the prompt
// with GPT-2 BPE and samples up to max_tokens tokens, never a padded-vocabulary token, stopping at
// <|endoftext|> or a stop sequence (the text is cut before it). With the key-value cache (the default) the
// prompt runs through the model once (prefill) and every later token is one position through it (decode);
// when the context reaches model.seq_len positions, the cache restarts from the most recent half of them.
// Without it, every token reruns the most recent seq_len tokens. World rank 0 prints prompt + continuation,
// and the prefill and decode rates in tokens/s to stderr.
int generate(Registry& registry, const GenerateOptions& options);

}  // namespace mtnlg::host
