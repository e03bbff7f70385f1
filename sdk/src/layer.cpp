#include "mtnlg/layer.hpp"

#include "mtnlg/str.hpp"

namespace mtnlg {

ParamSet::~ParamSet() = default;
LayerFactory::~LayerFactory() = default;
Layer::~Layer() = default;

Tensor ChildParamSet::value(std::string_view name) const {
  return parent_.value(prefix_ + std::string(name));
}
Tensor ChildParamSet::grad(std::string_view name) const {
  return parent_.grad(prefix_ + std::string(name));
}

SavedState& SavedState::child(std::string_view name) {
  auto it = children_.find(name);
  if (it == children_.end()) it = children_.emplace(std::string(name), std::make_unique<SavedState>()).first;
  return *it->second;
}

void SavedState::clear() {
  tensors_.clear();
  children_.clear();
}

void SavedState::put(std::string name, Tensor t) {
  tensors_[std::move(name)] = std::move(t);
}

const Tensor& SavedState::get(std::string_view name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    std::string known;
    for (const auto& [k, t] : tensors_) known += (known.empty() ? "" : ", ") + k;
    fail(str("saved state has no '", name, "' (it has: ", known.empty() ? "nothing" : known,
             "); was forward run for this micro-batch?"));
  }
  return it->second;
}

bool SavedState::contains(std::string_view name) const {
  return tensors_.find(name) != tensors_.end();
}

std::size_t SavedState::bytes() const {
  std::size_t n = 0;
  for (const auto& [k, t] : tensors_) n += t.nbytes();
  for (const auto& [k, c] : children_) n += c->bytes();
  return n;
}

std::vector<ParamSpec> Layer::parameters() const {
  std::vector<ParamSpec> out;
  MTNLG_GUARDED(component_label(), out = do_parameters());
  return out;
}

Tensor Layer::forward(const LayerStep& step, const Tensor& x, SavedState& saved) {
  Tensor y;
  MTNLG_GUARDED(component_label(), y = do_forward(step, x, saved));
  return y;
}

Tensor Layer::backward(const LayerStep& step, const Tensor& dy, SavedState& saved) {
  Tensor dx;
  MTNLG_GUARDED(component_label(), dx = do_backward(step, dy, saved));
  return dx;
}

bool Layer::is_loss() const {
  bool loss = false;
  MTNLG_GUARDED(component_label(), loss = do_is_loss());
  return loss;
}

}  // namespace mtnlg
