// The adamw optimizer plugin's entry point: its one component and the recipe keys it accepts (see README.md).
#include "mtnlg/plugin.hpp"

#include "adamw_optimizer.hpp"

namespace {

const mtnlg_key_spec kAdamWKeys[] = {
    {"lr", MTNLG_KEY_FLOAT, "6.0e-4", "peak learning rate (an LR schedule scales from it); MT-NLG: 5.0e-5",
     nullptr},
    {"beta1", MTNLG_KEY_FLOAT, "0.9", "decay of the first moment, in [0, 1)", nullptr},
    {"beta2", MTNLG_KEY_FLOAT, "0.999", "decay of the second moment, in [0, 1); MT-NLG: 0.95", nullptr},
    {"eps", MTNLG_KEY_FLOAT, "1e-8", "added to sqrt(v_hat) in the denominator, > 0", nullptr},
    {"weight_decay", MTNLG_KEY_FLOAT, "0.01",
     "decoupled weight decay, >= 0; skipped for biases and norm gains; MT-NLG: 0.1", nullptr},
};

}  // namespace

MTNLG_PLUGIN("optim-adamw", "0.1.0",
             mtnlg::component<mtnlg::optim::AdamWOptimizer>(
                 "adamw", "AdamW: Adam with decoupled weight decay, moments in the parameter's dtype",
                 kAdamWKeys))
