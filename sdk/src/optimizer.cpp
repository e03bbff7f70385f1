#include "mtnlg/optimizer.hpp"

namespace mtnlg {

Optimizer::~Optimizer() = default;

void Optimizer::attach(Backend& backend, const std::vector<OptimizerParam>& params,
                       const std::vector<FlatBuffer>& flat) {
  MTNLG_GUARDED(component_label(), do_attach(backend, params, flat));
}

void Optimizer::step(Backend& backend, const OptimizerStep& step) {
  MTNLG_GUARDED(component_label(), do_step(backend, step));
}

double Optimizer::base_lr() const {
  double lr = 0.0;
  MTNLG_GUARDED(component_label(), lr = do_base_lr());
  return lr;
}

std::vector<OptimizerState> Optimizer::state() const {
  std::vector<OptimizerState> out;
  MTNLG_GUARDED(component_label(), out = do_state());
  return out;
}

}  // namespace mtnlg
