#include "linear_layer.hpp"

namespace mtnlg::layers {

LinearLayer::LinearLayer(const CreateArgs& args)
    : in_(args.params.get_int("in")), out_(args.params.get_int("out")), bias_(args.params.get_bool("bias")) {
  MTNLG_CHECK(
      in_ >= 1 && out_ >= 1,
      str(args.params.pos.str(), ": linear needs in >= 1 and out >= 1, got in = ", in_, ", out = ", out_));
  init_std_ = args.params.get_float("init_std");
  const std::string& partition = args.params.get_string("partition");
  partition_ = partition == "column" ? Partition::column
               : partition == "row"  ? Partition::row
                                     : Partition::none;
  if (init_std_ == 0.0) init_std_ = args.recipe.find_path("model.init_std")->as_float();
  if (partition_ != Partition::none) {
    if (const Value* t = args.recipe.find_path("parallel.tensor")) tensor_ = t->as_int();
    const std::int64_t split = partition_ == Partition::column ? out_ : in_;
    MTNLG_CHECK(split % tensor_ == 0,
                str(args.params.pos.str(), ": a ", partition, "-parallel linear splits ",
                    partition_ == Partition::column ? "out = " : "in = ", split,
                    " over parallel.tensor = ", tensor_, " ranks, which does not divide it"));
  }
}

std::vector<ParamSpec> LinearLayer::do_parameters() const {
  // Megatron's tensor slicing: a column-parallel linear splits W's rows (outputs) and the bias; a
  // row-parallel one splits W's columns (inputs) and keeps the bias whole, added once after the partial sums
  // are reduced.
  const int weight_dim = partition_ == Partition::column ? 0 : partition_ == Partition::row ? 1 : -1;
  const int bias_dim = partition_ == Partition::column ? 0 : -1;
  std::vector<ParamSpec> p{
      {.name = "weight", .shape = {out_, in_}, .init = InitSpec::normal(init_std_), .tp_dim = weight_dim}};
  if (bias_) p.push_back({.name = "bias", .shape = {out_}, .tp_dim = bias_dim, .weight_decay = false});
  return p;
}

Tensor LinearLayer::do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) {
  const std::int64_t in = local_in(), out = local_out();
  MTNLG_CHECK(x.ndim() >= 1 && x.dim(-1) == in,
              str("linear expects inputs (..., ", in, "), got ", x.describe()));
  Shape out_shape = x.shape();
  out_shape.back() = out;
  const Tensor x2 = x.reshape({-1, in});                       // (N, in)
  Tensor y = step.backend.empty({x2.dim(0), out}, x.dtype());  // (N, out)
  step.backend.run(ops::gemm, ops::GemmArgs{x2, step.params.value("weight"), y, false, true});
  if (partition_ == Partition::row) step.sum_over_tensor_parallel(y);  // partial sums over the in-slices
  if (bias_) step.backend.run(ops::bias_add, ops::BiasAddArgs{y, step.params.value("bias"), y});
  saved.put("x", x2);
  return y.reshape(out_shape);
}

Tensor LinearLayer::do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) {
  const std::int64_t in = local_in(), out = local_out();
  const Tensor& x2 = saved.get("x");         // (N, in)
  const Tensor dy2 = dy.reshape({-1, out});  // (N, out)
  // dW += dyᵀ · x   (out, in); db += Σ_rows dy   (out)
  step.backend.run(ops::gemm, ops::GemmArgs{dy2, x2, step.params.grad("weight"), true, false, 1.0, 1.0});
  if (bias_) step.backend.run(ops::column_sum, ops::ColumnSumArgs{dy2, step.params.grad("bias"), 1.0});
  if (!step.need_input_grad) return {};
  Shape in_shape = dy.shape();
  in_shape.back() = in;
  Tensor dx = step.backend.empty({dy2.dim(0), in}, dy.dtype());  // dx = dy · W   (N, in)
  step.backend.run(ops::gemm, ops::GemmArgs{dy2, step.params.value("weight"), dx});
  // A column-parallel linear saw the whole x: each rank holds the part of dx from its output slice.
  if (partition_ == Partition::column) step.sum_over_tensor_parallel(dx);
  return dx.reshape(in_shape);
}

}  // namespace mtnlg::layers
