// `mtnlg-data tokenize`: the command line of tokenize_command.hpp.
#include <cstdio>
#include <iostream>
#include <memory>

#include "data_command.hpp"
#include "tokenize_command.hpp"

namespace mtnlg::data {
namespace {

CommandRun setup_tokenize(CLI::App& sub) {
  auto options = std::make_shared<TokenizeOptions>();
  auto vocab_dir = std::make_shared<std::string>();
  auto progress = std::make_shared<std::string>("auto");
  auto bad_lines = std::make_shared<std::string>("fail");
  sub.add_option(
         "--input", options->input,
         ".jsonl (one JSON object per line), - (JSON lines on standard input, e.g. from zcat) or plain "
         "text (documents separated by blank lines); read as a stream")
      ->required();
  sub.add_option("--output-prefix", options->output_prefix, "output path prefix")->required();
  sub.add_option("--json-keys,--json-key", options->json_keys, "JSON fields to tokenize, one dataset each")
      ->capture_default_str();
  sub.add_flag("--append-eod", options->append_eod, "end every document with <|endoftext|>");
  sub.add_option("--workers", options->workers,
                 "tokenizer threads, plus one that reads ahead (the output does not depend on it)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--vocab-dir", *vocab_dir, "directory with encoder.json and vocab.bpe (default: GPT-2's)");
  sub.add_option("--progress", *progress,
                 "progress line with MB/s on stderr: auto (when stderr is a terminal), always, never")
      ->capture_default_str();
  sub.add_option("--bad-lines", *bad_lines, kBadLinesHelp)->capture_default_str();
  return [options, vocab_dir, progress, bad_lines] {
    options->bad_lines = parse_bad_line_policy(*bad_lines);
    options->vocab_dir = *vocab_dir;
    options->progress = parse_progress_mode(*progress);
    const auto r = tokenize(*options);
    if (r.bad_lines_skipped > 0)
      std::printf("skipped %zu bad lines (--bad-lines skip)\n", r.bad_lines_skipped);
    for (const auto& p : r.outputs)
      std::cout << "wrote " << p.string() << ".bin and " << p.string() << ".idx\n";
    std::printf("%zu documents, %zu tokens, %.1f MB of text in %.2f s (%.2f MB/s, %d worker%s)\n",
                r.documents, r.tokens, r.bytes / 1e6, r.seconds, r.bytes / 1e6 / r.seconds, options->workers,
                options->workers == 1 ? "" : "s");
    return 0;
  };
}

}  // namespace

MTNLG_DATA_COMMAND(tokenize, "GPT-2 BPE tokenize text into PREFIX_<key>_document.{bin,idx}", setup_tokenize);

}  // namespace mtnlg::data
