#pragma once
// The named children of a composite layer: created through the host's LayerFactory, their parameters exposed
// under "<child>.<name>", each with its own nested saved state. Children run forward in order and backward in
// reverse, or one at a time for composites that are not a plain chain (a block's residual connections).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mtnlg/mtnlg.hpp"

namespace mtnlg::gpt {

class ChildLayers {
 public:
  // `owner` labels the composite in messages ("layer 3 'transformer_block'").
  ChildLayers(const CreateArgs& args, std::string owner)
      : factory_(args.layers), index_(args.index), owner_(std::move(owner)) {
    MTNLG_CHECK(factory_ != nullptr, owner_ + " is a composite layer and needs the host's layer factory");
  }

  // Adds child `name` made by component `component` with `params` (its recipe keys).
  void add(const std::string& name, const std::string& component, const Table& params) {
    children_.emplace_back(name, factory_->create_layer(component, params, index_, owner_ + "." + name));
  }

  std::vector<ParamSpec> parameters() const {
    std::vector<ParamSpec> out;
    for (const auto& [name, layer] : children_)
      for (ParamSpec p : layer->parameters()) {
        p.name = name + "." + p.name;
        out.push_back(std::move(p));
      }
    return out;
  }

  Tensor forward(const std::string& name, const LayerStep& step, const Tensor& x, SavedState& saved) {
    const ChildParamSet params(step.params, name + ".");
    return child(name).forward(with_params(step, params), x, saved.child(name));
  }

  Tensor backward(const std::string& name, const LayerStep& step, const Tensor& dy, SavedState& saved) {
    const ChildParamSet params(step.params, name + ".");
    LayerStep child_step = with_params(step, params);
    child_step.need_input_grad = true;
    return child(name).backward(child_step, dy, saved.child(name));
  }

  // The whole chain: children in the order they were added.
  Tensor forward_all(const LayerStep& step, Tensor x, SavedState& saved) {
    for (const auto& [name, layer] : children_) x = forward(name, step, x, saved);
    return x;
  }
  Tensor backward_all(const LayerStep& step, Tensor dy, SavedState& saved) {
    for (auto it = children_.rbegin(); it != children_.rend(); ++it)
      dy = backward(it->first, step, dy, saved);
    return dy;
  }

 private:
  static LayerStep with_params(const LayerStep& step, const ParamSet& params) {
    return LayerStep{.backend = step.backend,
                     .params = params,
                     .targets = step.targets,
                     .micro_batch = step.micro_batch,
                     .first_sample = step.first_sample,
                     .training = step.training,
                     .need_input_grad = step.need_input_grad,
                     .loss_weight = step.loss_weight,
                     .tensor_group = step.tensor_group,
                     .decode_position = step.decode_position};
  }
  Layer& child(const std::string& name) {
    for (auto& [n, layer] : children_)
      if (n == name) return *layer;
    fail(str(owner_, " has no child '", name, "'"));
  }

  const LayerFactory* factory_;
  int index_;
  std::string owner_;
  std::vector<std::pair<std::string, std::unique_ptr<Layer>>> children_;
};

// A composite that is a plain chain of its children (attention: qkv, core, proj; MLP: fc, act, proj): the
// derived class only adds the children in its constructor.
class ChainLayer : public Layer {
 protected:
  ChainLayer(const CreateArgs& args, std::string owner) : children_(args, std::move(owner)) {}

  std::vector<ParamSpec> do_parameters() const override { return children_.parameters(); }
  Tensor do_forward(const LayerStep& step, const Tensor& x, SavedState& saved) override {
    return children_.forward_all(step, x, saved);
  }
  Tensor do_backward(const LayerStep& step, const Tensor& dy, SavedState& saved) override {
    return children_.backward_all(step, dy, saved);
  }

  ChildLayers children_;
};

// A child's recipe table built in code: {"in": 64, "out": 192, ...}, positioned at the composite's table so
// errors point at the recipe entry that made it.
inline Table child_params(const Table& parent, std::initializer_list<std::pair<const char*, Value>> values) {
  Table t;
  t.pos = parent.pos;
  for (const auto& [k, v] : values) t.set(k, Value(v));
  return t;
}

}  // namespace mtnlg::gpt
