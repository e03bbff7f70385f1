#pragma once
// The transformer's MLP as a chain of named children:
//   fc   = linear (C -> F, column-parallel), F = ffn_hidden or 4·C
//   act  = the activation layer (key `activation`, GeLU by default)
//   proj = linear (F -> C, row-parallel, init scaled by 1/√(2·layers))
#include "child_layers.hpp"
#include "model_dims.hpp"

namespace mtnlg::gpt {

class MlpLayer final : public ChainLayer {
 public:
  explicit MlpLayer(const CreateArgs& args) : ChainLayer(args, "mlp") {
    const ModelDims dims(args.recipe);
    const std::int64_t c = dims.hidden;
    std::int64_t f = args.params.get_int("ffn_hidden");
    if (f == 0) f = 4 * c;
    MTNLG_CHECK(f > 0, str(args.params.where("ffn_hidden"), ": ffn_hidden must be >= 0, got ", f));
    children_.add("fc", "linear",
                  child_params(args.params, {{"in", c}, {"out", f}, {"partition", "column"}}));
    children_.add("act", args.params.get_string("activation"), Table{});
    children_.add(
        "proj", "linear",
        child_params(args.params,
                     {{"in", f}, {"out", c}, {"init_std", dims.output_init_std()}, {"partition", "row"}}));
  }
};

}  // namespace mtnlg::gpt
