// `mtnlg-data decontaminate`: the command line of decontaminate_command.hpp.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "data_command.hpp"
#include "decontaminate/decontaminate_command.hpp"
#include "tasks/task_spec.hpp"

namespace mtnlg::data {
namespace {

CommandRun setup_decontaminate(CLI::App& sub) {
  using decontaminate::DecontaminateOptions;
  auto options = std::make_shared<DecontaminateOptions>();
  auto task_arguments = std::make_shared<std::vector<std::string>>();
  sub.add_option("--input", options->input, "training corpus, .jsonl (one JSON object per line)")->required();
  sub.add_option("--json-key", options->json_key, "the field holding the text")->capture_default_str();
  sub.add_option("--output", options->output, "decontaminated .jsonl (written whole or not at all)")
      ->required();
  sub.add_option(
         "--task", *task_arguments,
         "NAME=FILE.jsonl, an evaluation task's data (repeatable); NAME is one of: " + tasks::task_names())
      ->required();
  sub.add_option("--report", options->report, "a .jsonl line per cut or dropped document: what matched, why");
  sub.add_option("--ngram", options->ngram, "n-gram length in words")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option(
         "--min-ngram", options->min_ngram,
         "task texts of this many words up to --ngram - 1 are matched whole; shorter ones are ignored")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--max-ngram-docs", options->max_ngram_docs,
                 "task n-grams found in this many training documents or more are ignored as common phrases")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--remove-chars", options->cut.remove_chars,
                 "characters removed on each side of a match (then up to a sentence boundary)")
      ->capture_default_str();
  sub.add_option("--min-piece-chars", options->cut.min_piece_chars, "pieces shorter than this are dropped")
      ->capture_default_str();
  sub.add_option("--max-splits", options->cut.max_splits, "documents split more often than this are dropped")
      ->capture_default_str();
  auto bad_lines = std::make_shared<std::string>("fail");
  sub.add_option("--bad-lines", *bad_lines,
                 std::string(kBadLinesHelp) + "; a bad line in a --task file is always fatal")
      ->capture_default_str();
  return [options, task_arguments, bad_lines] {
    options->bad_lines = parse_bad_line_policy(*bad_lines);
    for (const auto& argument : *task_arguments)
      options->tasks.push_back(decontaminate::parse_task_argument(argument));
    const auto s = decontaminate::decontaminate(*options);
    for (const auto& t : s.tasks)
      std::printf(
          "task %s (%s): %zu examples, %zu texts (%zu matched whole, %zu too short), %zu n-grams, "
          "%zu found in training, %zu ignored as too frequent\n",
          t.task.c_str(), t.path.string().c_str(), t.examples, t.texts, t.whole_texts, t.short_texts,
          t.ngrams, t.ngrams_matched, t.ngrams_ignored);
    std::printf("%zu task n-grams, %zu ignored (in %zu or more documents)\n", s.ngrams, s.ngrams_ignored,
                options->max_ngram_docs);
    std::printf(
        "%zu documents in, %zu out: %zu untouched, %zu split into %zu pieces (%zu pieces dropped), "
        "%zu dropped for too many splits, %zu dropped with every piece too short\n",
        s.documents_in, s.documents_out, s.documents_untouched, s.documents_split, s.pieces_kept,
        s.pieces_dropped, s.documents_dropped_splits, s.documents_dropped_short);
    if (s.bad_lines_skipped > 0)
      std::printf("skipped %zu bad lines (--bad-lines skip)\n", s.bad_lines_skipped);
    std::printf("wrote %s%s%s; %.1f MB in %.2f s, the two passes over it %.2f s (%.2f MB/s)\n",
                options->output.string().c_str(), options->report.empty() ? "" : " and ",
                options->report.string().c_str(), s.bytes / 1e6, s.seconds, s.scan_seconds,
                s.bytes / 1e6 / std::max(s.scan_seconds, 1e-9));
    return 0;
  };
}

}  // namespace

MTNLG_DATA_COMMAND(decontaminate,
                   "remove evaluation-task n-grams from a JSONL corpus (Megatron's filter_ngrams)",
                   setup_decontaminate);

}  // namespace mtnlg::data
