#include "rampup_batch_schedule.hpp"

#include <string>

#include "mtnlg/str.hpp"

namespace mtnlg::sched {
RampupBatchSchedule::RampupBatchSchedule(const CreateArgs& args)
    : start_(args.params.get_int("start")),
      increment_(args.params.get_int("increment")),
      ramp_samples_(args.params.get_int("ramp_samples")),
      where_(args.params.where("start")) {
  const Table& p = args.params;
  MTNLG_CHECK(start_ >= 1, str(p.where("start"), ": batch_schedule.start must be at least 1 sample, got ",
                               start_, " (MT-NLG: 32)"));
  MTNLG_CHECK(increment_ >= 1,
              str(p.where("increment"), ": batch_schedule.increment must be at least 1 sample, got ",
                  increment_, " (MT-NLG: 32)"));
  MTNLG_CHECK(
      ramp_samples_ >= 1,
      str(p.where("ramp_samples"), ": batch_schedule.ramp_samples must be at least 1, got ", ramp_samples_,
          " (MT-NLG: 5859375, i.e. 12B tokens at seq_len 2048); use the 'constant' batch schedule for no "
          "ramp"));
  if (const Value* final_batch = args.recipe.find_path("train.global_batch");
      final_batch != nullptr && final_batch->is_int() && final_batch->as_int() > 0)
    increments(final_batch->as_int());
}

std::int64_t RampupBatchSchedule::increments(std::int64_t final_global_batch) const {
  const std::int64_t diff = final_global_batch - start_;
  MTNLG_CHECK(diff > 0,
              str(where_, ": batch_schedule.start (", start_, ") must be below train.global_batch (",
                  final_global_batch,
                  "): the ramp grows the batch from start up to global_batch; lower start, or use the "
                  "'constant' batch schedule for a fixed batch"));
  MTNLG_CHECK(
      diff % increment_ == 0,
      str(where_, ": batch_schedule.start = ", start_, " and increment = ", increment_,
          " do not reach train.global_batch = ", final_global_batch, ": global_batch − start = ", diff,
          " is not a multiple of increment; choose them so that it is (MT-NLG: start 32, increment 32, "
          "global_batch 1920)"));
  return diff / increment_;
}

std::int64_t RampupBatchSchedule::do_global_batch(std::int64_t final_global_batch,
                                                  const TrainingProgress& progress) const {
  const std::int64_t n = increments(final_global_batch);
  const std::int64_t consumed = progress.consumed_samples;
  MTNLG_CHECK(consumed >= 0,
              str("batch_schedule rampup: consumed_samples is ", consumed, "; it must be >= 0"));
  if (consumed > ramp_samples_) return final_global_batch;
  // ⌊consumed / (ramp_samples / n)⌋ in exact integer arithmetic: ⌊consumed · n / ramp_samples⌋. Megatron
  // divides by the rounded double instead, which can land an exact slice boundary one step early (and gives
  // less than the final batch at consumed = ramp_samples when ramp_samples is a multiple of n). The product
  // needs 128 bits only for absurd recipes (consumed ≤ ramp_samples here).
  const auto steps =
      static_cast<std::int64_t>(static_cast<unsigned __int128>(consumed) * static_cast<unsigned __int128>(n) /
                                static_cast<unsigned __int128>(ramp_samples_));
  const std::int64_t current = start_ + steps * increment_;
  return current < final_global_batch ? current : final_global_batch;
}

}  // namespace mtnlg::sched
