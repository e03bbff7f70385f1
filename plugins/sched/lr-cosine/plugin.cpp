// The lr-cosine plugin's entry point: its one component and the recipe keys it accepts (see README.md).
#include "mtnlg/plugin.hpp"

#include "cosine_lr_schedule.hpp"

namespace {

const mtnlg_key_spec kCosineKeys[] = {
    {"warmup_tokens", MTNLG_KEY_INT, "0",
     "tokens of linear warm-up from 0 to the optimizer's lr; 0 = none (MT-NLG: 1000000000)", nullptr},
    {"decay_tokens", MTNLG_KEY_INT, "0",
     "tokens, counted from the start, at which the cosine reaches the floor; 0 = no decay (MT-NLG: "
     "340000000000)",
     nullptr},
    {"min_ratio", MTNLG_KEY_FLOAT, "0.1", "the floor as a fraction of the peak lr, in [0, 1]", nullptr},
};

}  // namespace

MTNLG_PLUGIN("sched-lr-cosine", "0.1.0",
             mtnlg::component<mtnlg::sched::CosineLrSchedule>(
                 "cosine", "linear warm-up then cosine decay to a floor, in consumed tokens (Megatron)",
                 kCosineKeys))
