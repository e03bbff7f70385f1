// `mtnlg-data inspect`: the command line of inspect_dataset.hpp.
#include <iostream>
#include <memory>

#include "data_command.hpp"
#include "inspect_dataset.hpp"

namespace mtnlg::data {
namespace {

struct InspectArgs {
  std::string prefix, documents, vocab_dir;
  InspectOptions options;
};

CommandRun setup_inspect(CLI::App& sub) {
  auto a = std::make_shared<InspectArgs>();
  sub.add_option("prefix", a->prefix, "dataset prefix (PREFIX.bin, PREFIX.idx)")->required();
  CLI::Option* docs =
      sub.add_option("--documents", a->documents, "documents A:B (A to B-1, as a Python slice), A:, :B or A");
  sub.add_flag("--tokens", a->options.tokens, "print each listed document's token ids")->needs(docs);
  sub.add_flag("--text", a->options.text, "print each listed document's text (GPT-2 BPE decoded)")
      ->needs(docs);
  sub.add_flag("--summary", a->options.summary, "print the summary also with --documents");
  sub.add_option("--vocab-dir", a->vocab_dir, "directory with encoder.json and vocab.bpe (default: GPT-2's)");
  return [a, docs] {
    a->options.prefix = a->prefix;
    a->options.vocab_dir = a->vocab_dir;
    if (docs->count() > 0) a->options.documents = a->documents;
    inspect_dataset(a->options, std::cout);
    return 0;
  };
}

}  // namespace

MTNLG_DATA_COMMAND(inspect, "summarise a Megatron indexed dataset and show its documents", setup_inspect);

}  // namespace mtnlg::data
