#include "engine/loss_scaler.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

LossScaler::LossScaler(const LossScalerOptions& options) : options_(options) {
  MTNLG_CHECK(
      options.initial_scale > 0.0 && options.min_scale > 0.0 && options.growth_interval >= 1 &&
          options.hysteresis >= 1,
      str("invalid loss scaler: initial scale ", options.initial_scale, ", minimum ", options.min_scale,
          ", window ", options.growth_interval, ", hysteresis ", options.hysteresis));
  state_.scale = options.initial_scale;
  state_.hysteresis_tracker = options.hysteresis;
}

void LossScaler::update(bool overflow) {
  if (!options_.dynamic) return;
  if (overflow) {
    state_.growth_tracker = 0;
    state_.hysteresis_tracker -= 1;
    if (state_.hysteresis_tracker <= 0)
      state_.scale = std::max(state_.scale * options_.backoff, options_.min_scale);
    return;
  }
  state_.growth_tracker += 1;
  if (state_.growth_tracker == options_.growth_interval) {
    state_.growth_tracker = 0;
    state_.hysteresis_tracker = options_.hysteresis;
    state_.scale *= options_.growth;
  }
}

}  // namespace mtnlg::host
