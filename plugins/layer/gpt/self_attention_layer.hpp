#pragma once
// Causal multi-head self-attention as a chain of named children:
//   qkv  = linear (C -> 3C, column-parallel)     x (B, T, C) -> (B, T, 3C)
//   core = the attention core (key `core`)        (B, T, 3C) -> (B, T, C)
//   proj = linear (C -> C, row-parallel, init scaled by 1/√(2·layers))
#include "child_layers.hpp"
#include "model_dims.hpp"

namespace mtnlg::gpt {

class SelfAttentionLayer final : public ChainLayer {
 public:
  explicit SelfAttentionLayer(const CreateArgs& args) : ChainLayer(args, "causal_self_attention") {
    const ModelDims dims(args.recipe);
    const std::int64_t c = dims.hidden;
    children_.add("qkv", "linear",
                  child_params(args.params, {{"in", c}, {"out", 3 * c}, {"partition", "column"}}));
    children_.add("core", args.params.get_string("core"), Table{});
    children_.add(
        "proj", "linear",
        child_params(args.params,
                     {{"in", c}, {"out", c}, {"init_std", dims.output_init_std()}, {"partition", "row"}}));
  }
};

}  // namespace mtnlg::gpt
