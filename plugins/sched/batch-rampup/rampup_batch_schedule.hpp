#pragma once
// Batch-size schedules, in consumed samples.
//
// `rampup` is Megatron's --rampup-batch-size <start> <increment> <ramp_samples>: the global batch grows from
// `start` by `increment` in equal slices of the first `ramp_samples` samples until it reaches the recipe's
// train.global_batch (`final`):
//   increments            = (final − start) / increment            (must be a positive whole number)
//   samples_per_increment = ramp_samples / increments               (a real number)
//   batch                 = start + ⌊consumed / samples_per_increment⌋ · increment,  capped at final
// and `final` once consumed > ramp_samples. MT-NLG: 32 → 1920 by 32 over 12B tokens = 5,859,375 samples of
// 2048 tokens, so 59 increments of 99,311.44 samples each.
//
// `constant` is always the final batch (no keys): what a recipe without a ramp gets.
//
// Recipe keys of `rampup` (declared in plugin.cpp, documented in README.md): start, increment, ramp_samples.
#include <cstdint>
#include <string>

#include "mtnlg/component.hpp"
#include "mtnlg/training_schedules.hpp"

namespace mtnlg::sched {

class RampupBatchSchedule final : public BatchSchedule {
 public:
  // args.params holds start, increment and ramp_samples (all required). When args.recipe has
  // train.global_batch, the ramp is checked against it here, so a bad recipe fails at load time; it is
  // checked again against the final batch each call receives. Throws mtnlg::Error naming the keys and values.
  explicit RampupBatchSchedule(const CreateArgs& args);

  // (final − start) / increment, or an error naming the keys and their values when that is not a positive
  // whole number.
  std::int64_t increments(std::int64_t final_global_batch) const;

 protected:
  std::int64_t do_global_batch(std::int64_t final_global_batch,
                               const TrainingProgress& progress) const override;

 private:
  std::int64_t start_, increment_, ramp_samples_;
  std::string where_;  // position of `start` in the recipe, for errors found after construction
};

class ConstantBatchSchedule final : public BatchSchedule {
 public:
  explicit ConstantBatchSchedule(const CreateArgs&) {}

 protected:
  std::int64_t do_global_batch(std::int64_t final_global_batch, const TrainingProgress&) const override {
    return final_global_batch;
  }
};

}  // namespace mtnlg::sched
