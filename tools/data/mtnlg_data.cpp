// mtnlg-data: data preparation the MT-NLG way. `tokenize` turns text into a Megatron mmap indexed dataset.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "mtnlg/error.hpp"
#include "tokenize_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mtnlg-data — prepare training data: tokenize text into Megatron indexed datasets"};
  app.require_subcommand(1);
  auto* tokenize =
      app.add_subcommand("tokenize", "GPT-2 BPE tokenize text into PREFIX_<key>_document.{bin,idx}");
  mtnlg::data::TokenizeOptions options;
  std::string vocab_dir;
  tokenize
      ->add_option("--input", options.input,
                   ".jsonl (one JSON object per line) or plain text (documents "
                   "separated by blank lines)")
      ->required();
  tokenize->add_option("--output-prefix", options.output_prefix, "output path prefix")->required();
  tokenize->add_option("--json-keys", options.json_keys, "JSON fields to tokenize, one dataset each")
      ->capture_default_str();
  tokenize->add_flag("--append-eod", options.append_eod, "end every document with <|endoftext|>");
  tokenize->add_option("--workers", options.workers, "tokenizer threads (the output does not depend on it)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  tokenize->add_option("--vocab-dir", vocab_dir,
                       "directory with encoder.json and vocab.bpe (default: GPT-2's)");
  CLI11_PARSE(app, argc, argv);
  try {
    options.vocab_dir = vocab_dir;
    const auto r = mtnlg::data::tokenize(options);
    for (const auto& p : r.outputs)
      std::cout << "wrote " << p.string() << ".bin and " << p.string() << ".idx\n";
    std::printf("%zu documents, %zu tokens, %.1f MB of text in %.2f s (%.2f MB/s, %d worker%s)\n",
                r.documents, r.tokens, r.bytes / 1e6, r.seconds, r.bytes / 1e6 / r.seconds, options.workers,
                options.workers == 1 ? "" : "s");
    return 0;
  } catch (const mtnlg::Error& e) {
    std::cerr << "mtnlg-data: error: " << e.what() << "\n";
    return 1;
  }
}
