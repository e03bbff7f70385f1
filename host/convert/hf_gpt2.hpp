#pragma once
// `mtnlg convert --to hf-gpt2` and `--from hf-gpt2`: mtnlg's GPT checkpoints in Hugging Face's GPT-2 layout
// (model.safetensors + config.json, as GPT2LMHeadModel.from_pretrained reads them) and back.
//
// The layouts differ in three ways (see tensor_layout.hpp for the byte work):
//  - Hugging Face's Conv1D stores weights as [in, out]; mtnlg's linear layers as [out, in] (transposed);
//  - mtnlg orders qkv features per head, [q_h | k_h | v_h] for head h (Megatron's, so a tensor-parallel split
//    keeps whole heads); GPT-2's c_attn is [q | k | v], each over all heads;
//  - mtnlg pads the word embedding to model.padded_vocab rows (zeros past vocab_size); GPT-2's wte has
//  exactly
//    vocab_size rows.
// Both directions build the model from its recipe on one rank and go through its parameters, so the names,
// shapes and order are the model's own, and a round trip is bit-exact.
#include <filesystem>
#include <string>
#include <vector>

#include "plugin_host/registry.hpp"

namespace mtnlg::host {

// Writes OUT/model.safetensors and OUT/config.json from the checkpoint directory CHECKPOINT
// (RUN_DIR/checkpoint). OUT must not exist or be empty; it appears whole or not at all. Errors name what has
// no place in GPT-2.
void export_hf_gpt2(Registry& registry, const std::filesystem::path& checkpoint,
                    const std::filesystem::path& out);

// Reads DIR/config.json and DIR/model.safetensors into the model of `recipe` (with `overrides`), whose
// [model] must match config.json, and writes an mtnlg checkpoint directory OUT (step 0).
void import_hf_gpt2(Registry& registry, const std::filesystem::path& hf_dir,
                    const std::filesystem::path& recipe, const std::vector<std::string>& overrides,
                    const std::filesystem::path& out);

}  // namespace mtnlg::host
