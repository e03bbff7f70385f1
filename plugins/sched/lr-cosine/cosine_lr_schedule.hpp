#pragma once
// Linear warm-up, then cosine decay to a floor: Megatron's OptimizerParamScheduler with
// lr_decay_style = "cosine", counted in consumed tokens rather than steps, so that MT-NLG's batch-size
// ramp-up (32 → 1920 over 12B tokens) does not stretch the 1B-token warm-up.
//
// With t = consumed tokens, W = warmup_tokens, D = decay_tokens, min = min_ratio · peak:
//   W > 0 and t <= W:  peak · t / W          (0 at t = 0, as in Megatron: the first step does not move)
//   D = 0:             peak                  (no decay: constant after warm-up)
//   t > D:             min
//   otherwise:         min + ½·(1 + cos(π·(t − W)/(D − W)))·(peak − min)
// D counts from the start of training, warm-up included (Megatron's lr_decay_iters / lr_decay_samples).
//
// Recipe keys (declared in plugin.cpp, documented in README.md): warmup_tokens, decay_tokens, min_ratio.
#include <cstdint>

#include "mtnlg/component.hpp"
#include "mtnlg/training_schedules.hpp"

namespace mtnlg::sched {

class CosineLrSchedule final : public LrSchedule {
 public:
  // args.params holds the validated keys warmup_tokens, decay_tokens and min_ratio (a test that constructs
  // the schedule directly must set all three). Throws mtnlg::Error, naming the key and its position, for a
  // negative length, a decay that ends inside the warm-up, or a floor outside [0, 1].
  explicit CosineLrSchedule(const CreateArgs& args);

 protected:
  double do_lr(double peak_lr, const TrainingProgress& progress) const override;

 private:
  std::int64_t warmup_tokens_, decay_tokens_;
  double min_ratio_;
};

}  // namespace mtnlg::sched
