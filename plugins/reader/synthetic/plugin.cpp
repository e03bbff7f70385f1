// The synthetic reader plugin's entry point: its one component and the recipe keys it accepts (see
// README.md).
#include "mtnlg/plugin.hpp"

#include "synthetic_reader.hpp"

namespace {

const mtnlg_key_spec kSyntheticKeys[] = {
    {"pattern", MTNLG_KEY_STRING, "\"counting\"",
     "counting: each token is the previous + 1 (learnable to ~0 loss); random: uniform tokens (benchmarks)",
     "counting|random"},
    {"vocab", MTNLG_KEY_INT, "0",
     "tokens are drawn from [0, vocab), vocab <= model.vocab_size; 0 = model.vocab_size", nullptr},
};

}  // namespace

MTNLG_PLUGIN("reader-synthetic", "0.1.0",
             mtnlg::component<mtnlg::readers::SyntheticReader>(
                 "synthetic",
                 "seeded synthetic token sequences (counting or random) from model.seq_len and train.seed",
                 kSyntheticKeys))
