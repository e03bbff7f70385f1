#include "dedup_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "corpus_index.hpp"
#include "exact_jaccard.hpp"
#include "line_ranges.hpp"
#include "minhash.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "signed_corpus.hpp"
#include "staged_output_dir.hpp"
#include "union_find.hpp"

namespace mtnlg::data::dedup {

namespace {

constexpr const char* kKeptFile = "kept.jsonl";
constexpr const char* kDuplicatesFile = "duplicates.jsonl";

void check_options(const DedupOptions& o) {
  MTNLG_CHECK(!o.inputs.empty(), "no --input NAME=PATH given");
  std::set<std::string> names;
  for (const DatasetInput& input : o.inputs) {
    MTNLG_CHECK(names.insert(input.name).second, str("two --input datasets named '", input.name, "'"));
    // With --write-filtered the dataset becomes DIR/NAME.jsonl, which must not overwrite the reports.
    MTNLG_CHECK(input.name + ".jsonl" != kKeptFile && input.name + ".jsonl" != kDuplicatesFile,
                str("dataset name '", input.name, "' is reserved for an output file; choose another"));
  }
  std::set<std::string> ranked;
  for (const std::string& name : o.priority) {
    MTNLG_CHECK(names.count(name), str("--priority names '", name, "', which is not an --input dataset"));
    MTNLG_CHECK(ranked.insert(name).second, str("--priority names '", name, "' twice"));
  }
  MTNLG_CHECK(o.permutations >= 1, str("--permutations must be at least 1, got ", o.permutations));
  MTNLG_CHECK(o.lsh.bands >= 1 && o.lsh.rows >= 1,
              str("--bands and --rows must be at least 1, got ", o.lsh.bands, " and ", o.lsh.rows));
  MTNLG_CHECK(static_cast<long long>(o.lsh.bands) * o.lsh.rows == o.permutations,
              str("--bands × --rows must equal --permutations: ", o.lsh.bands, " × ", o.lsh.rows, " = ",
                  static_cast<long long>(o.lsh.bands) * o.lsh.rows, ", not ", o.permutations));
  MTNLG_CHECK(o.threshold >= 0.0 && o.threshold <= 1.0,
              str("--threshold must be in [0, 1], got ", o.threshold));
  MTNLG_CHECK(o.shingles.size >= 1, str("--shingle-size must be at least 1, got ", o.shingles.size));
  MTNLG_CHECK(o.workers >= 1, str("--workers must be at least 1, got ", o.workers));
  MTNLG_CHECK(!o.json_key.empty(), "--json-key must not be empty");
  MTNLG_CHECK(!o.output_dir.empty(), "--output-dir is required");
  // The outputs replace files of the same name at the end; an input among them would be lost.
  std::vector<std::string> outputs{kKeptFile, kDuplicatesFile};
  if (o.write_filtered)
    for (const DatasetInput& input : o.inputs) outputs.push_back(input.name + ".jsonl");
  for (const std::string& name : outputs) {
    const std::filesystem::path out = o.output_dir / name;
    std::error_code ignored;
    for (const DatasetInput& input : o.inputs)
      MTNLG_CHECK(!std::filesystem::equivalent(out, input.path, ignored),
                  str("--output-dir ", o.output_dir.string(), " would overwrite the input ",
                      input.path.string(), " with ", name, "; choose another output directory"));
  }
}

// rank[dataset]: 0 wins. Datasets named by --priority come first in its order, the rest in --input order.
std::vector<std::size_t> dataset_ranks(const DedupOptions& o) {
  std::vector<std::size_t> rank(o.inputs.size());
  std::vector<std::string> order = o.priority;
  for (const DatasetInput& input : o.inputs)
    if (std::find(order.begin(), order.end(), input.name) == order.end()) order.push_back(input.name);
  for (std::size_t d = 0; d < o.inputs.size(); ++d)
    rank[d] =
        static_cast<std::size_t>(std::find(order.begin(), order.end(), o.inputs[d].name) - order.begin());
  return rank;
}

nlohmann::ordered_json where(const DedupOptions& o, const DocumentRef& doc) {
  return {{"dataset", o.inputs[doc.dataset].name}, {"line", doc.line}};
}

void write_file(const std::filesystem::path& path, const std::function<void(std::ofstream&)>& fill) {
  std::ofstream out(path, std::ios::binary);
  MTNLG_CHECK(out.good(), str("cannot write ", path.string()));
  fill(out);
  out.close();
  MTNLG_CHECK(!out.fail(), str("cannot write ", path.string(), " (disk full?)"));
}

// Copies the kept lines of one dataset byte for byte (each followed by '\n'), reading the input once more.
void write_filtered(const DatasetInput& input, const std::vector<DocumentRef>& documents,
                    const std::vector<std::uint8_t>& kept, std::size_t first, std::size_t count,
                    std::ofstream& out) {
  std::ifstream in(input.path, std::ios::binary);
  MTNLG_CHECK(in.good(), str("cannot read ", input.path.string(), " again"));
  std::string line;
  std::uint64_t number = 0;
  std::size_t next = first;
  while (next < first + count && std::getline(in, line)) {
    if (++number != documents[next].line) continue;
    MTNLG_CHECK(line.size() == documents[next].length,
                str(input.path.string(), ":", number, ": changed while dedup ran"));
    if (kept[next]) out << line << '\n';
    ++next;
  }
  MTNLG_CHECK(next == first + count, str(input.path.string(), ": shorter than when dedup read it"));
}

double rounded(double jaccard) {
  return std::round(jaccard * 1e4) / 1e4;
}

// The exact Jaccard of rank 0's pairs, computed by all ranks: rank 0 sends each rank a contiguous chunk (so
// pairs of one kept document stay together and its text is read once per chunk) and gets the values back in
// pair order. Other ranks get an empty vector.
std::vector<double> exact_jaccards_on_all_ranks(const std::vector<CandidatePair>& pairs,
                                                const CorpusIndex& corpus, const DedupOptions& o,
                                                const RankExchange& ranks) {
  const auto n_ranks = static_cast<std::size_t>(ranks.size());
  std::vector<std::vector<CandidatePair>> chunks(n_ranks);
  if (ranks.rank() == 0)
    for (std::size_t r = 0; r < n_ranks; ++r)
      chunks[r].assign(pairs.begin() + static_cast<std::ptrdiff_t>(pairs.size() * r / n_ranks),
                       pairs.begin() + static_cast<std::ptrdiff_t>(pairs.size() * (r + 1) / n_ranks));
  const std::vector<CandidatePair> mine = ranks.all_to_all(std::move(chunks));
  std::vector<std::vector<double>> to_root(n_ranks);
  ranks.agree(0, [&] {
    to_root[0] = exact_jaccards(mine, corpus.documents, o.inputs, o.json_key, o.shingles, o.workers);
  });
  return ranks.all_to_all(std::move(to_root));
}

}  // namespace

DedupReport dedup(const DedupOptions& options) {
  return dedup(options, RankExchange());
}

DedupReport dedup(const DedupOptions& options, const RankExchange& ranks) {
  ranks.agree(0, [&] { check_options(options); });
  const auto start = std::chrono::steady_clock::now();
  const MinHasher hasher(options.permutations, options.seed);
  const bool root = ranks.rank() == 0;

  // Pass one: every rank reads and signs its share of every dataset (one process: all of it). A bad line
  // stops every rank after that dataset, with the message of the first bad line in input order.
  const std::vector<LineRange> ranges = line_ranges_of_this_rank(options.inputs, ranks);
  SignedCorpus mine;
  BadLines bad_lines(options.bad_lines);
  for (std::size_t d = 0; d < options.inputs.size(); ++d)
    ranks.agree(d, [&] {
      sign_dataset(options.inputs[d], static_cast<std::uint32_t>(d), ranges[d], options.json_key,
                   options.shingles, hasher, options.workers, bad_lines, mine);
    });
  const CorpusIndex corpus = index_corpus(mine, ranks);
  std::vector<DocumentRef>().swap(mine.documents);  // the index holds them now
  const std::size_t n = corpus.documents.size();

  // LSH candidates (each rank its share), verified where they are; the edges go to rank 0.
  const auto candidates =
      candidate_pairs(mine.signatures, corpus.own_ids, options.lsh, mine.has_shingles, ranks);
  std::vector<std::uint64_t>().swap(mine.signatures);  // the largest array: not needed any more
  std::vector<std::vector<CandidatePair>> edges_to_root(static_cast<std::size_t>(ranks.size()));
  ranks.agree(0, [&] {
    std::vector<double> candidate_jaccard;
    if (options.verify)
      candidate_jaccard = exact_jaccards(candidates, corpus.documents, options.inputs, options.json_key,
                                         options.shingles, options.workers);
    for (std::size_t i = 0; i < candidates.size(); ++i)
      if (!options.verify || candidate_jaccard[i] >= options.threshold)
        edges_to_root[0].push_back(candidates[i]);
  });

  DedupReport report;
  report.ranks = ranks.size();
  report.documents = n;
  report.candidate_pairs = ranks.sum(candidates.size());
  report.text_bytes = corpus.text_bytes;
  report.bad_lines_skipped = ranks.sum(bad_lines.skipped());
  const std::vector<CandidatePair> edges = ranks.all_to_all(std::move(edges_to_root));  // all on rank 0
  report.verified_pairs = edges.size();

  // Components and their winners, on rank 0 (edge order does not matter to either).
  std::vector<std::uint8_t> kept;
  std::vector<CandidatePair> removed_pairs;    // (kept, removed), grouped by component in kept-document order
  std::map<DocId, std::vector<DocId>> groups;  // kept document → removed ones, both in index order
  ranks.agree(0, [&] {
    if (!root) return;
    UnionFind components(n);
    for (const CandidatePair& edge : edges) components.join(edge.first, edge.second);
    // The winner of each component: best dataset rank, then the earliest document (lowest index = line
    // order).
    const std::vector<std::size_t> rank = dataset_ranks(options);
    std::vector<DocId> winner(n, static_cast<DocId>(-1));
    for (DocId d = 0; d < n; ++d) {
      DocId& w = winner[components.find(d)];
      if (w == static_cast<DocId>(-1) ||
          rank[corpus.documents[d].dataset] < rank[corpus.documents[w].dataset])
        w = d;
    }
    kept.assign(n, 0);
    for (DocId d = 0; d < n; ++d) {
      const DocId w = winner[components.find(d)];
      if (w == d) {
        kept[d] = 1;
      } else {
        groups[w].push_back(d);
      }
    }
    for (const auto& [w, removed] : groups)
      for (const DocId d : removed) removed_pairs.emplace_back(w, d);
  });
  // The similarity reported is to the kept document itself, which can be lower than the threshold when the
  // two are joined through a chain of verified pairs.
  std::vector<double> removed_jaccard;
  if (options.verify) removed_jaccard = exact_jaccards_on_all_ranks(removed_pairs, corpus, options, ranks);
  // Rank 0 alone reports and writes; the others wait for the outcome, so that a failure to write (a full
  // disk, an output path that is a file) stops every rank together like any other failure.
  ranks.agree(0, [&] {
    if (!root) return;
    for (std::size_t d = 0; d < options.inputs.size(); ++d)
      report.datasets.push_back({options.inputs[d].name});
    for (DocId d = 0; d < n; ++d) {
      DatasetReport& r = report.datasets[corpus.documents[d].dataset];
      ++r.documents;
      r.empty += !corpus.has_shingles[d];
      r.removed += !kept[d];
    }
    report.removed = removed_pairs.size();
    report.duplicate_groups = groups.size();

    // Outputs: staged, then moved into place together.
    StagedOutputDir out(options.output_dir);
    write_file(out.staged(kKeptFile), [&](std::ofstream& f) {
      for (DocId d = 0; d < n; ++d)
        if (kept[d]) f << where(options, corpus.documents[d]).dump() << '\n';
    });
    write_file(out.staged(kDuplicatesFile), [&](std::ofstream& f) {
      std::size_t i = 0;
      for (const auto& [w, removed] : groups) {
        nlohmann::ordered_json line{{"kept", where(options, corpus.documents[w])},
                                    {"removed", nlohmann::ordered_json::array()}};
        for (const DocId d : removed) {
          auto entry = where(options, corpus.documents[d]);
          if (options.verify) entry["jaccard"] = rounded(removed_jaccard[i]);
          line["removed"].push_back(std::move(entry));
          ++i;
        }
        f << line.dump() << '\n';
      }
    });
    if (options.write_filtered) {
      std::size_t first = 0;
      for (std::size_t d = 0; d < options.inputs.size(); ++d) {
        write_file(out.staged(options.inputs[d].name + ".jsonl"), [&](std::ofstream& f) {
          write_filtered(options.inputs[d], corpus.documents, kept, first, corpus.per_dataset[d], f);
        });
        first += corpus.per_dataset[d];
      }
    }
    report.outputs = out.commit();
  });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace mtnlg::data::dedup
