#include "mtnlg/training_schedules.hpp"

namespace mtnlg {

LrSchedule::~LrSchedule() = default;
BatchSchedule::~BatchSchedule() = default;

double LrSchedule::lr(double peak_lr, const TrainingProgress& progress) const {
  double out = 0.0;
  MTNLG_GUARDED(component_label(), out = do_lr(peak_lr, progress));
  return out;
}

std::int64_t BatchSchedule::global_batch(std::int64_t final_global_batch,
                                         const TrainingProgress& progress) const {
  std::int64_t out = 0;
  MTNLG_GUARDED(component_label(), out = do_global_batch(final_global_batch, progress));
  return out;
}

}  // namespace mtnlg
