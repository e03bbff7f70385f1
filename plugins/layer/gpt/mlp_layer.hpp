#pragma once
// The transformer's MLP as a chain of named children:
//   fc   = linear (C -> F, column-parallel), F = ffn_hidden or 4·C
//   act  = the activation layer (key `activation`, GeLU by default)
//   proj = linear (F -> C, row-parallel, init scaled by 1/√(2·layers))
#include "child_layers.hpp"
#include "model_dims.hpp"

namespace mtnlg::gpt {

class MlpLayer final : public Layer {
 public:
  explicit MlpLayer(const CreateArgs& args) : children_(args, "mlp") {
    const ModelDims dims(args.recipe);
    const std::int64_t c = dims.hidden;
    std::int64_t f = args.params.get_int("ffn_hidden");
    if (f == 0) f = 4 * c;
    MTNLG_CHECK(f > 0, str(args.params.find("ffn_hidden")->pos.str(), ": ffn_hidden must be >= 0, got ", f));
    children_.add("fc", "linear",
                  child_params(args.params, {{"in", c}, {"out", f}, {"partition", "column"}}));
    children_.add("act", args.params.get_string("activation"), Table{});
    children_.add(
        "proj", "linear",
        child_params(args.params,
                     {{"in", f}, {"out", c}, {"init_std", dims.output_init_std()}, {"partition", "row"}}));
  }

 protected:
  std::vector<ParamSpec> do_parameters() const override { return children_.parameters(); }
  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override {
    return children_.forward_all(step, x, saved);
  }
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override {
    return children_.backward_all(step, dy, saved);
  }

 private:
  ChildLayers children_;
};

}  // namespace mtnlg::gpt
