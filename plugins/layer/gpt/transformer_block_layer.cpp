#include "transformer_block_layer.hpp"

namespace mtnlg::gpt {

namespace {
Tensor add(Backend& backend, const Tensor& a, const Tensor& b) {
  Tensor out = backend.empty(a.shape(), a.dtype());
  backend.run(ops::add, ops::BinaryArgs{a, b, out});
  return out;
}
}  // namespace

TransformerBlockLayer::TransformerBlockLayer(const CreateArgs& args)
    : dims_(args.recipe), index_(args.index), children_(args, "transformer_block") {
  children_.add("ln_1", args.params.get_string("norm"), Table{});
  children_.add("attention", args.params.get_string("attention"), Table{});
  children_.add("ln_2", args.params.get_string("norm"), Table{});
  children_.add("mlp", args.params.get_string("mlp"), Table{});
}

Tensor TransformerBlockLayer::do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) {
  Tensor a = children_.forward("attention", step, children_.forward("ln_1", step, x, saved), saved);
  attention_dropout().forward_in_place(step, a);
  const Tensor x2 = add(step.backend, x, a);
  Tensor m = children_.forward("mlp", step, children_.forward("ln_2", step, x2, saved), saved);
  mlp_dropout().forward_in_place(step, m);
  return add(step.backend, x2, m);
}

Tensor TransformerBlockLayer::do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) {
  // out = x2 + m: dy reaches x2 directly and through the MLP branch.
  const Tensor dm = mlp_dropout().backward(step, dy);
  const Tensor dx2_mlp = children_.backward("ln_2", step, children_.backward("mlp", step, dm, saved), saved);
  const Tensor dx2 = add(step.backend, dy, dx2_mlp);
  // x2 = x + a: likewise through the attention branch.
  const Tensor da = attention_dropout().backward(step, dx2);
  const Tensor dx_attn =
      children_.backward("ln_1", step, children_.backward("attention", step, da, saved), saved);
  return add(step.backend, dx2, dx_attn);
}

}  // namespace mtnlg::gpt
