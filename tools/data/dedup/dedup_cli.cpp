// `mtnlg-data dedup`: the command line of dedup_command.hpp.
#include <cstdio>
#include <iostream>
#include <memory>

#include "data_command.hpp"
#include "dedup/dedup_command.hpp"
#include "dedup/mpi_session.hpp"

namespace mtnlg::data {
namespace {

CommandRun setup_dedup(CLI::App& sub) {
  auto options = std::make_shared<dedup::DedupOptions>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto output_dir = std::make_shared<std::string>();
  auto unit = std::make_shared<std::string>("word");
  sub.footer(
      "Documents joined through near-duplicate pairs form a component; each component keeps one document: "
      "the one of the dataset first in --priority, and within a dataset the earliest line. Empty documents "
      "are always kept. Outputs (written atomically): DIR/kept.jsonl, DIR/duplicates.jsonl and, with "
      "--write-filtered, DIR/NAME.jsonl. Under mpirun (mpirun -np N mtnlg-data dedup ...) each rank signs "
      "its share of every dataset and the ranks exchange LSH buckets; every rank must be able to read every "
      "input (a shared file system), rank 0 writes the outputs, identical to one process's. See "
      "tools/data/dedup/README.md.");
  sub.add_option("--input", *inputs,
                 "NAME=PATH of a JSONL dataset (one JSON object per line); repeat for more")
      ->required()
      ->type_name("NAME=PATH");
  sub.add_option("--output-dir", *output_dir, "directory for kept.jsonl, duplicates.jsonl (and NAME.jsonl)")
      ->required();
  sub.add_option("--json-key", options->json_key, "JSON field holding the document text")
      ->capture_default_str();
  sub.add_option("--priority", options->priority,
                 "dataset names, comma-separated, in the order their documents win (default: --input order; "
                 "unnamed datasets follow in --input order)")
      ->delimiter(',')
      ->type_name("NAME,...");
  sub.add_option("--shingle", *unit, "shingle unit: word or char (UTF-8 code point)")
      ->capture_default_str()
      ->check(CLI::IsMember({"word", "char"}));
  sub.add_option("--shingle-size", options->shingles.size, "words (or characters) per shingle")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--permutations", options->permutations, "MinHash permutations (signature length)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--bands", options->lsh.bands, "LSH bands; bands × rows must equal --permutations")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--rows", options->lsh.rows, "signature rows per LSH band")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--seed", options->seed, "seed of the MinHash permutations")->capture_default_str();
  sub.add_flag(
      "--verify,!--no-verify", options->verify,
      "accept an LSH candidate pair only if its exact shingle Jaccard is >= --threshold (default on; "
      "--no-verify joins every candidate pair)");
  sub.add_option("--threshold", options->threshold, "exact Jaccard similarity that makes a duplicate")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub.add_flag("--write-filtered", options->write_filtered,
               "also write DIR/NAME.jsonl per dataset: its kept lines, byte for byte");
  sub.add_option("--workers", options->workers,
                 "threads per rank for MinHash signatures and verification (the output does not depend on "
                 "it)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto bad_lines = std::make_shared<std::string>("fail");
  sub.add_option("--bad-lines", *bad_lines, kBadLinesHelp)->capture_default_str();
  return [options, inputs, output_dir, unit, bad_lines] {
    options->bad_lines = parse_bad_line_policy(*bad_lines);
    for (const std::string& spec : *inputs) options->inputs.push_back(dedup::parse_dataset_input(spec));
    options->output_dir = *output_dir;
    options->shingles.unit = *unit == "char" ? dedup::ShingleUnit::character : dedup::ShingleUnit::word;
    // MPI only for this command, and only when a launcher started the process (mpi_session.hpp).
    const dedup::MpiSession mpi;
    const dedup::RankExchange& ranks = mpi.ranks();
    dedup::DedupReport r;
    try {
      r = dedup::dedup(*options, ranks);
    } catch (const dedup::AgreedFailure&) {
      // Every rank has the message; rank 0 reports it and exits 1, which makes mpirun's exit status 1. The
      // others exit 0: mpirun kills the whole job at the first non-zero exit, which could cut rank 0 off
      // before its message is out.
      if (ranks.rank() != 0) return 0;
      throw;
    } catch (const std::exception& e) {
      // A failure the other ranks do not know about (dedup agrees on every one it expects): they may be
      // waiting for this rank in a collective, so nothing short of ending the job stops them.
      if (ranks.size() > 1) {
        std::cerr << "mtnlg-data: error: rank " << ranks.rank() << ": " << e.what() << std::endl;
        mpi.abort(1);
      }
      throw;
    }
    if (ranks.rank() != 0) return 0;
    for (const auto& d : r.datasets)
      std::printf("%-16s %10zu documents (%zu empty), %zu duplicates removed, %zu kept\n", d.name.c_str(),
                  d.documents, d.empty, d.removed, d.documents - d.removed);
    std::printf("%zu documents: %zu duplicate groups, %zu removed; %zu candidate pairs, %zu %s\n",
                r.documents, r.duplicate_groups, r.removed, r.candidate_pairs, r.verified_pairs,
                options->verify ? "verified (Jaccard >= threshold)" : "joined (unverified)");
    std::printf("%.2f s, %.0f docs/s, %.1f MB of text, %d worker%s\n", r.seconds,
                r.documents / std::max(r.seconds, 1e-9), r.text_bytes / 1e6, options->workers,
                options->workers == 1 ? "" : "s");
    if (r.bad_lines_skipped > 0)
      std::printf("skipped %zu bad lines (--bad-lines skip)\n", r.bad_lines_skipped);
    std::printf("%d rank%s%s\n", r.ranks, r.ranks == 1 ? "" : "s",
                r.ranks == 1 ? "" : " (MPI), each signing its share of every dataset");
    for (const auto& p : r.outputs) std::cout << "wrote " << p.string() << "\n";
    return 0;
  };
}

}  // namespace

MTNLG_DATA_COMMAND(dedup, "fuzzy-deduplicate JSONL datasets (MinHash LSH + Jaccard), highest priority wins",
                   setup_dedup);

}  // namespace mtnlg::data
