// The batch-rampup plugin's entry point: two batch schedules and the recipe keys of `rampup` (see README.md).
#include "mtnlg/plugin.hpp"

#include "rampup_batch_schedule.hpp"

namespace {

const mtnlg_key_spec kRampupKeys[] = {
    {"start", MTNLG_KEY_INT, nullptr, "global batch (samples) at the start of training (MT-NLG: 32)",
     nullptr},
    {"increment", MTNLG_KEY_INT, nullptr,
     "samples added per ramp step; (train.global_batch − start) must be a multiple of it (MT-NLG: 32)",
     nullptr},
    {"ramp_samples", MTNLG_KEY_INT, nullptr,
     "samples over which the batch grows to train.global_batch (MT-NLG: 5859375 = 12B tokens / 2048)",
     nullptr},
};

}  // namespace

MTNLG_PLUGIN("sched-batch-rampup", "0.1.0",
             mtnlg::component<mtnlg::sched::RampupBatchSchedule>(
                 "rampup", "Megatron's batch-size ramp-up: start + increment per equal slice of ramp_samples",
                 kRampupKeys),
             mtnlg::component<mtnlg::sched::ConstantBatchSchedule>("constant",
                                                                   "always train.global_batch (no ramp-up)"))
