// The indexed reader plugin's entry point: its one component and the recipe keys it accepts (see README.md).
#include "mtnlg/plugin.hpp"

#include "indexed_reader.hpp"

namespace {

const mtnlg_key_spec kIndexedKeys[] = {
    {"prefix", MTNLG_KEY_STRING, nullptr,
     "the dataset's path without .bin/.idx (Megatron mmap indexed format); relative to the current directory",
     nullptr},
    {"split", MTNLG_KEY_STRING, "\"969,30,1\"",
     "train,valid,test weights over the dataset's documents, as Megatron's --split", nullptr},
};

}  // namespace

MTNLG_PLUGIN(
    "reader-indexed", "0.1.0",
    mtnlg::component<mtnlg::readers::IndexedReader>(
        "indexed",
        "GPT samples from a Megatron .bin/.idx dataset: Megatron's split, document, sample and shuffle "
        "indices",
        kIndexedKeys))
