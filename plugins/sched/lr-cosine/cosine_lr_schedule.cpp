#include "cosine_lr_schedule.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "mtnlg/str.hpp"

namespace mtnlg::sched {
CosineLrSchedule::CosineLrSchedule(const CreateArgs& args)
    : warmup_tokens_(args.params.get_int("warmup_tokens")),
      decay_tokens_(args.params.get_int("decay_tokens")),
      min_ratio_(args.params.get_float("min_ratio")) {
  const Table& p = args.params;
  MTNLG_CHECK(warmup_tokens_ >= 0, str(p.where("warmup_tokens"), ": lr_schedule.warmup_tokens must be >= 0 ",
                                       "(0 = no warm-up), got ", warmup_tokens_));
  MTNLG_CHECK(decay_tokens_ >= 0, str(p.where("decay_tokens"), ": lr_schedule.decay_tokens must be >= 0 ",
                                      "(0 = no decay), got ", decay_tokens_));
  // The decay is measured from the start of training, so it has to end after the warm-up does; a decay
  // length that ends inside the warm-up is almost always a decay given relative to the warm-up's end.
  MTNLG_CHECK(decay_tokens_ == 0 || decay_tokens_ > warmup_tokens_,
              str(p.where("decay_tokens"), ": lr_schedule.decay_tokens (", decay_tokens_,
                  ") must exceed warmup_tokens (", warmup_tokens_,
                  "): decay_tokens counts from the start of training, warm-up included (MT-NLG: warm-up "
                  "1000000000, decay 340000000000); set 0 for no decay"));
  MTNLG_CHECK(min_ratio_ >= 0.0 && min_ratio_ <= 1.0,
              str(p.where("min_ratio"), ": lr_schedule.min_ratio must be in [0, 1] (the floor as a fraction ",
                  "of the peak; MT-NLG: 0.1), got ", min_ratio_));
}

double CosineLrSchedule::do_lr(double peak_lr, const TrainingProgress& progress) const {
  const std::int64_t t = progress.consumed_tokens;
  MTNLG_CHECK(t >= 0, str("lr_schedule cosine: consumed_tokens is ", t, "; it must be >= 0"));
  // Megatron's order of operations (peak · t, then / W), so that its learning rates are reproduced to the
  // bit.
  if (warmup_tokens_ > 0 && t <= warmup_tokens_)
    return peak_lr * static_cast<double>(t) / static_cast<double>(warmup_tokens_);
  if (decay_tokens_ == 0) return peak_lr;
  const double min_lr = min_ratio_ * peak_lr;
  if (t > decay_tokens_) return min_lr;
  const double ratio =
      static_cast<double>(t - warmup_tokens_) / static_cast<double>(decay_tokens_ - warmup_tokens_);
  const double coeff = 0.5 * (std::cos(std::numbers::pi * ratio) + 1.0);
  return min_lr + coeff * (peak_lr - min_lr);
}

}  // namespace mtnlg::sched
