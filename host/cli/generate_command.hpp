#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

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
};

// `mtnlg generate`: loads the checkpoint's model, encodes the prompt with GPT-2 BPE and samples up to
// max_tokens tokens (stopping at <|endoftext|>), never a padded-vocabulary token; prints prompt +
// continuation.
int generate(Registry& registry, const GenerateOptions& options);

}  // namespace mtnlg::host
