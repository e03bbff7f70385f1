// The GPT model of the Megatron-Turing NLG family as layer components. A recipe's stack is
//   embedding, transformer_block × model.layers, layernorm (final), lm_head
// and a block's children (norm, attention, MLP; the attention's core; the MLP's activation) are named by
// keys, so a variant is a new component, not a fork.
#include "attention_core_layer.hpp"
#include "embedding_layer.hpp"
#include "layernorm_layer.hpp"
#include "lm_head_layer.hpp"
#include "mlp_layer.hpp"
#include "self_attention_layer.hpp"
#include "transformer_block_layer.hpp"

namespace {
const mtnlg_key_spec kLayerNormKeys[] = {{"eps", MTNLG_KEY_FLOAT, "1e-5", "added to the variance", nullptr}};
const mtnlg_key_spec kSelfAttentionKeys[] = {
    {"core", MTNLG_KEY_STRING, "\"causal_attention_core\"", "layer computing softmax(q·kᵀ/√d)·v", nullptr}};
const mtnlg_key_spec kMlpKeys[] = {
    {"activation", MTNLG_KEY_STRING, "\"gelu\"", "activation layer between the two linears", nullptr},
    {"ffn_hidden", MTNLG_KEY_INT, "0", "inner width; 0 = 4 × model.hidden", nullptr}};
const mtnlg_key_spec kBlockKeys[] = {
    {"norm", MTNLG_KEY_STRING, "\"layernorm\"", "normalisation layer (ln_1, ln_2)", nullptr},
    {"attention", MTNLG_KEY_STRING, "\"causal_self_attention\"", "attention layer", nullptr},
    {"mlp", MTNLG_KEY_STRING, "\"gelu_mlp\"", "MLP layer", nullptr}};
}  // namespace

MTNLG_PLUGIN(
    "layer-gpt", "0.1.0",
    mtnlg::component<mtnlg::gpt::EmbeddingLayer>("embedding", "token + learned position embedding, dropout"),
    mtnlg::component<mtnlg::gpt::TransformerBlockLayer>("transformer_block",
                                                        "pre-LN block: norm, attention, MLP", kBlockKeys),
    mtnlg::component<mtnlg::gpt::LayerNormLayer>("layernorm", "LayerNorm over the hidden dimension",
                                                 kLayerNormKeys),
    mtnlg::component<mtnlg::gpt::SelfAttentionLayer>("causal_self_attention",
                                                     "multi-head causal self-attention: qkv, core, proj",
                                                     kSelfAttentionKeys),
    mtnlg::component<mtnlg::gpt::AttentionCoreLayer>("causal_attention_core",
                                                     "softmax(q·kᵀ/√d)·v with a causal mask and dropout"),
    mtnlg::component<mtnlg::gpt::MlpLayer>("gelu_mlp", "linear, activation, linear (4 × hidden)", kMlpKeys),
    mtnlg::component<mtnlg::gpt::LmHeadLayer>(
        "lm_head", "LM head tied to the embedding, cross-entropy over the real vocabulary"))
