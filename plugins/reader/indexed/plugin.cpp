// The indexed reader plugin's entry point: its one component and the recipe keys it accepts (see README.md).
#include "mtnlg/plugin.hpp"

#include "blend_reader.hpp"
#include "indexed_reader.hpp"

namespace {

const mtnlg_key_spec kIndexedKeys[] = {
    {"prefix", MTNLG_KEY_STRING, nullptr,
     "the dataset's path without .bin/.idx (Megatron mmap indexed format); relative to the current directory",
     nullptr},
    {"split", MTNLG_KEY_STRING, "\"969,30,1\"",
     "train,valid,test weights over the dataset's documents, as Megatron's --split", nullptr},
};

const mtnlg_key_spec kBlendKeys[] = {
    {"datasets", MTNLG_KEY_ARRAY, nullptr,
     "the datasets: [{name = \"Books3\", prefix = \"data/books3_text_document\", weight = 14.3}, ...]; "
     "weights "
     "are normalised",
     nullptr},
    {"split", MTNLG_KEY_STRING, "\"969,30,1\"", "train,valid,test weights over each dataset's documents",
     nullptr},
    {"report_samples", MTNLG_KEY_INT, "0",
     "training samples the start-up report covers; 0 = train.steps x train.global_batch", nullptr},
};

}  // namespace

MTNLG_PLUGIN(
    "reader-indexed", "0.1.0",
    mtnlg::component<mtnlg::readers::IndexedReader>(
        "indexed",
        "GPT samples from a Megatron .bin/.idx dataset: Megatron's split, document, sample and shuffle "
        "indices",
        kIndexedKeys),
    mtnlg::component<mtnlg::readers::BlendReader>(
        "blend",
        "several indexed datasets blended by weight (Megatron's greedy rule), with a share/epochs report",
        kBlendKeys))
