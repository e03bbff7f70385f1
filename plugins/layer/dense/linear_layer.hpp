#pragma once
// y = x · Wᵀ + b over the last dimension: x (..., in) -> y (..., out); W (out, in), b (out).
// Megatron's tensor slicing over parallel.tensor = TP ranks: a column-parallel linear holds W's rows
// (out/TP, in) and b's slice and maps the full x to its slice of y (the backward sums dx over TP); a
// row-parallel one holds W's columns (out, in/TP), maps x's slice (..., in/TP) to a partial y that is summed
// over TP, then adds the whole b. Column then row (attention, MLP) needs one all-reduce each way.
#include "mtnlg/mtnlg.hpp"

namespace mtnlg::layers {

class LinearLayer final : public Layer {
 public:
  explicit LinearLayer(const CreateArgs& args);

 protected:
  std::vector<ParamSpec> do_parameters() const override;
  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override;
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override;

 private:
  enum class Partition { none, column, row };
  std::int64_t in_, out_;
  bool bias_;
  double init_std_;
  Partition partition_ = Partition::none;
  std::int64_t tensor_ = 1;  // tensor-parallel slices (parallel.tensor) when partitioned
  std::int64_t local_in() const { return partition_ == Partition::row ? in_ / tensor_ : in_; }
  std::int64_t local_out() const { return partition_ == Partition::column ? out_ / tensor_ : out_; }
};

}  // namespace mtnlg::layers
