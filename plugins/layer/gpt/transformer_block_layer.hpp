#pragma once
// The pre-LN transformer block, a composite of named children (each a component the recipe may swap):
//   x2  = x  + dropout(attention(ln_1(x)))
//   out = x2 + dropout(mlp(ln_2(x2)))          x, out: (B, T, C)
#include "child_layers.hpp"
#include "model_dims.hpp"

namespace mtnlg::gpt {

class TransformerBlockLayer final : public Layer {
 public:
  explicit TransformerBlockLayer(const CreateArgs& args);

 protected:
  std::vector<ParamSpec> do_parameters() const override { return children_.parameters(); }
  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override;
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override;

 private:
  // Dropout on each branch as it enters the residual stream.
  Dropout attention_dropout() const {
    return {dims_.hidden_dropout, dims_.seed, index_, "attention_output_dropout"};
  }
  Dropout mlp_dropout() const { return {dims_.hidden_dropout, dims_.seed, index_, "mlp_output_dropout"}; }

  ModelDims dims_;
  int index_;
  ChildLayers children_;
};

}  // namespace mtnlg::gpt
