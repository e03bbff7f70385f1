#pragma once
// `mtnlg-data dedup`: MT-NLG's fuzzy document deduplication across several JSONL datasets at once.
// MinHash signatures → LSH candidate pairs → (optionally) exact Jaccard verification → union-find components
// → from each component keep the document of the highest-priority dataset (the earliest line within one).
// With several MPI ranks each rank signs its share of every dataset and the ranks exchange bucket keys and
// candidate pairs (rank_exchange.hpp); the outputs are byte for byte those of one process.
// README.md in this folder describes the algorithm, the defaults, the outputs and the sharding.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/bad_lines.hpp"
#include "jsonl_documents.hpp"
#include "lsh.hpp"
#include "rank_exchange.hpp"
#include "shingles.hpp"

namespace mtnlg::data::dedup {

struct DedupOptions {
  std::vector<DatasetInput> inputs;
  std::filesystem::path output_dir;
  std::string json_key = "text";
  std::vector<std::string> priority;  // dataset names, winners first; unnamed ones follow in input order
  ShingleOptions shingles;
  int permutations = 128;
  LshShape lsh;  // bands × rows must equal permutations
  std::uint64_t seed = 1;
  bool verify = true;
  double threshold = 0.8;  // exact Jaccard needed to accept a candidate pair when verifying
  bool write_filtered = false;
  int workers = 1;
  BadLinePolicy bad_lines = BadLinePolicy::fail;
};

struct DatasetReport {
  std::string name;
  std::size_t documents = 0;
  std::size_t empty = 0;    // documents without shingles: kept, never anybody's duplicate
  std::size_t removed = 0;  // duplicates of a kept document
};

struct DedupReport {
  std::vector<DatasetReport> datasets;
  std::size_t documents = 0;
  std::size_t removed = 0;
  std::size_t duplicate_groups = 0;  // components of more than one document
  std::size_t candidate_pairs = 0;   // distinct pairs from LSH
  std::size_t verified_pairs = 0;    // candidate pairs accepted (all of them without --verify)
  std::size_t text_bytes = 0;
  std::size_t bad_lines_skipped = 0;  // over all ranks
  double seconds = 0.0;
  int ranks = 1;
  std::vector<std::filesystem::path> outputs;  // empty on ranks other than 0
};

// Throws mtnlg::Error for bad options or input (FILE:LINE: message) and then leaves output_dir untouched.
DedupReport dedup(const DedupOptions& options);

// The same run sharded over `ranks` (collective: every rank calls it with the same options). Only rank 0
// writes the outputs, and only its report is complete. A failure on any rank, writing the outputs included,
// makes every rank throw AgreedFailure with the same message (the first one in input order).
DedupReport dedup(const DedupOptions& options, const RankExchange& ranks);

}  // namespace mtnlg::data::dedup
