// `mtnlg-data quality train|score|filter`: the command line of quality_train.hpp and score_documents.hpp.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include "corpus.hpp"
#include "data_command.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "quality_train.hpp"
#include "score_documents.hpp"

namespace mtnlg::data {
namespace {

using namespace quality;

struct TrainArgs {
  std::string high, low, model, key = "text", bad_lines = "fail";
  TrainOptions options;
};

struct ApplyArgs {
  std::string model, input, output, scores;
  std::string rule = "pareto", bad_lines = "fail";
  FilterOptions options;
};

void add_input_options(CLI::App* cmd, std::string& key, std::string& bad_lines) {
  cmd->add_option("--json-key", key, "the JSON field holding the document's text")->capture_default_str();
  cmd->add_option("--bad-lines", bad_lines, kBadLinesHelp)->capture_default_str();
}

void print_skipped(const BadLines& bad_lines) {
  if (bad_lines.skipped() > 0) std::printf("skipped %zu bad lines (--bad-lines skip)\n", bad_lines.skipped());
}

int run_train(const TrainArgs& a) {
  BadLines bad_lines(parse_bad_line_policy(a.bad_lines));
  LabelledDocuments docs;
  docs.high = read_corpus(a.high, a.key, a.options.features, &bad_lines);
  docs.low = read_corpus(a.low, a.key, a.options.features, &bad_lines);
  print_skipped(bad_lines);
  TrainReport r;
  const QualityModel model = train(docs, a.options, r);
  model.save(a.model);
  std::printf("trained on %zu high + %zu low documents (%zu + %zu held out), %d epochs, 2^%.4g features\n",
              r.high_train, r.low_train, r.high_heldout, r.low_heldout, a.options.epochs,
              std::log2(static_cast<double>(a.options.features)));
  std::printf("training accuracy %.4f\n", r.train_accuracy);
  if (r.heldout_accuracy >= 0)
    std::printf("held-out accuracy %.4f\n", r.heldout_accuracy);
  else
    std::printf("held-out accuracy n/a (nothing held out: --holdout %g)\n", a.options.holdout);
  std::cout << "wrote " << a.model << "\n";
  return 0;
}

int run_score(const ApplyArgs& a) {
  const QualityModel model = QualityModel::load(a.model);
  BadLines bad_lines(parse_bad_line_policy(a.bad_lines));
  const std::size_t n = score_documents(model, a.input, a.output, a.options.key, &bad_lines);
  print_skipped(bad_lines);
  std::cout << "scored " << n << " documents; wrote " << a.output << "\n";
  return 0;
}

int run_filter(const ApplyArgs& a) {
  const QualityModel model = QualityModel::load(a.model);
  FilterOptions options = a.options;
  options.rule = a.rule == "threshold" ? FilterRule::threshold : FilterRule::pareto;
  if (!a.scores.empty()) options.scores = a.scores;
  BadLines bad_lines(parse_bad_line_policy(a.bad_lines));
  const FilterReport r = filter_documents(model, a.input, a.output, options, &bad_lines);
  print_skipped(bad_lines);
  std::printf("kept %zu of %zu documents (%.1f%%)\n", r.kept, r.total, 100.0 * r.kept / r.total);
  std::cout << "wrote " << a.output << (a.scores.empty() ? "" : " and " + a.scores) << "\n";
  return 0;
}

CommandRun setup_quality(CLI::App& sub) {
  sub.require_subcommand(1);
  auto t = std::make_shared<TrainArgs>();
  CLI::App* train_cmd = sub.add_subcommand("train", "train the classifier on high- and low-quality JSONL");
  train_cmd->add_option("--high", t->high, "JSONL of high-quality documents (label 1)")->required();
  train_cmd->add_option("--low", t->low, "JSONL of low-quality documents (label 0)")->required();
  train_cmd->add_option("--model", t->model, "where to write the model (JSON)")->required();
  add_input_options(train_cmd, t->key, t->bad_lines);
  train_cmd->add_option("--features", t->options.features, "hashed feature buckets")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 30));
  train_cmd->add_option("--epochs", t->options.epochs, "SGD passes")->capture_default_str();
  train_cmd->add_option("--lr", t->options.lr, "SGD step size")->capture_default_str();
  train_cmd->add_option("--l2", t->options.l2, "L2 penalty")->capture_default_str();
  train_cmd->add_option("--holdout", t->options.holdout, "fraction of each class held out")
      ->capture_default_str();
  train_cmd->add_option("--seed", t->options.seed, "seed of the split and the SGD order")
      ->capture_default_str();

  auto s = std::make_shared<ApplyArgs>();
  CLI::App* score_cmd = sub.add_subcommand("score", "add \"quality_score\" to every document");
  score_cmd->add_option("--model", s->model, "a model from quality train")->required();
  score_cmd->add_option("--input", s->input, "JSONL documents")->required();
  score_cmd->add_option("--output", s->output, "JSONL: the documents with \"quality_score\"")->required();
  add_input_options(score_cmd, s->options.key, s->bad_lines);

  auto f = std::make_shared<ApplyArgs>();
  CLI::App* filter_cmd = sub.add_subcommand("filter", "keep documents by GPT-3's Pareto rule or a threshold");
  filter_cmd->add_option("--model", f->model, "a model from quality train")->required();
  filter_cmd->add_option("--input", f->input, "JSONL documents")->required();
  filter_cmd->add_option("--output", f->output, "JSONL: the kept documents, unchanged")->required();
  add_input_options(filter_cmd, f->options.key, f->bad_lines);
  filter_cmd->add_option("--rule", f->rule, "pareto: keep if np.random.pareto(alpha) > 1 - score; threshold")
      ->capture_default_str()
      ->check(CLI::IsMember({"pareto", "threshold"}));
  filter_cmd->add_option("--alpha", f->options.alpha, "pareto shape (GPT-3: 9)")->capture_default_str();
  filter_cmd->add_option("--seed", f->options.seed, "pareto seed, as np.random.seed(seed)")
      ->capture_default_str();
  filter_cmd->add_option("--threshold", f->options.threshold, "threshold rule: keep if score >= this")
      ->capture_default_str();
  filter_cmd->add_option("--scores", f->scores,
                         "also write {\"line\", \"quality_score\", \"kept\"} per document");

  return [t, s, f, train_cmd, score_cmd, filter_cmd] {
    if (train_cmd->parsed()) return run_train(*t);
    if (score_cmd->parsed()) return run_score(*s);
    return run_filter(*f);
  };
}

}  // namespace

MTNLG_DATA_COMMAND(quality, "GPT-3's quality classifier: train, score and filter JSONL documents",
                   setup_quality);

}  // namespace mtnlg::data
