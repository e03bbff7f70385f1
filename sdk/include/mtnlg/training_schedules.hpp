#pragma once
// Learning-rate and batch-size schedules. Both are measured in consumed samples/tokens, not steps, so a
// batch-size ramp-up does not stretch the LR warm-up (MT-NLG: 1B-token warm-up while the batch grows from 32
// to 1920 over 12B tokens).
#include <cstdint>

#include "mtnlg/component.hpp"

namespace mtnlg {

struct TrainingProgress {
  std::int64_t step = 0;              // optimizer steps completed before this one
  std::int64_t consumed_samples = 0;  // before this step
  std::int64_t consumed_tokens = 0;   // consumed_samples × seq_len
};

class MTNLG_SDK_API LrSchedule : public Component {
 public:
  static constexpr const char* kKind = "lr_schedule";
  ~LrSchedule() override;
  // The learning rate for the step about to run, given the optimizer's peak rate.
  double lr(double peak_lr, const TrainingProgress& progress) const;

 protected:
  virtual double do_lr(double peak_lr, const TrainingProgress& progress) const = 0;
};

class MTNLG_SDK_API BatchSchedule : public Component {
 public:
  static constexpr const char* kKind = "batch_schedule";
  ~BatchSchedule() override;
  // The global batch (samples) for the step about to run. The host rounds it down to a multiple of
  // micro_batch × data-parallel size (and logs when it does).
  std::int64_t global_batch(std::int64_t final_global_batch, const TrainingProgress& progress) const;

 protected:
  virtual std::int64_t do_global_batch(std::int64_t final_global_batch,
                                       const TrainingProgress& progress) const = 0;
};

}  // namespace mtnlg
