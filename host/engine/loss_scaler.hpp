#pragma once
// fp16 loss scaling with Megatron's semantics (megatron/core/optimizer/grad_scaler.py). The loss is
// multiplied by the scale before the backward pass so that small gradients survive in fp16, and the fp32 main
// gradients are divided by it again before the update. A step whose gradients hold an inf or NaN anywhere
// (all ranks agree: the check is on the world-summed gradient norm) is skipped. Dynamic scaling then backs
// off by `backoff` once `hysteresis` overflows have been seen since the scale last grew, never below
// `min_scale`, and grows by `growth` after `growth_interval` overflow-free steps in a row.
#include <cstdint>

namespace mtnlg::host {

struct LossScalerOptions {
  bool dynamic = true;
  double initial_scale = 4294967296.0;  // 2^32, Megatron's --initial-loss-scale
  double min_scale = 1.0;
  double growth = 2.0;
  double backoff = 0.5;
  std::int64_t growth_interval = 1000;  // --loss-scale-window
  std::int64_t hysteresis = 2;
};

// What a checkpoint saves, so that a resumed run scales exactly as the uninterrupted one would.
struct LossScalerState {
  double scale = 1.0;
  std::int64_t growth_tracker = 0;
  std::int64_t hysteresis_tracker = 0;
};

class LossScaler {
 public:
  explicit LossScaler(const LossScalerOptions& options);
  double scale() const { return state_.scale; }
  // After each step: whether its gradients overflowed.
  void update(bool overflow);
  const LossScalerState& state() const { return state_; }
  void restore(const LossScalerState& state) { state_ = state; }

 private:
  LossScalerOptions options_;
  LossScalerState state_;
};

}  // namespace mtnlg::host
