// dedup end to end through its library entry point: planted near-duplicates across and within datasets, the
// priority order deciding the survivor, verification rejecting pairs below the threshold, exact duplicates,
// empty and huge documents, byte-identical output for any number of workers, and bad input failing cleanly.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "dedup_command.hpp"
#include "mtnlg/error.hpp"
#include "planted_corpus.hpp"

namespace mtnlg::data::dedup {
namespace {

namespace fs = std::filesystem;
using testing::join_words;
using testing::PlantedCorpus;
using testing::read_file;
using testing::read_lines;
using testing::write_jsonl;

const fs::path kWork = MTNLG_DEDUP_TEST_WORK_DIR;

using Where = std::pair<std::string, std::uint64_t>;  // (dataset, line)

Where where(const nlohmann::json& j) {
  return {j.at("dataset").get<std::string>(), j.at("line").get<std::uint64_t>()};
}

// duplicates.jsonl as removed document → (kept document, reported Jaccard or -1).
std::map<Where, std::pair<Where, double>> read_duplicates(const fs::path& dir) {
  std::map<Where, std::pair<Where, double>> removed;
  for (const auto& line : read_lines(dir / "duplicates.jsonl")) {
    const auto j = nlohmann::json::parse(line);
    for (const auto& r : j.at("removed")) removed[where(r)] = {where(j.at("kept")), r.value("jaccard", -1.0)};
  }
  return removed;
}

std::set<Where> read_kept(const fs::path& dir) {
  std::set<Where> kept;
  for (const auto& line : read_lines(dir / "kept.jsonl")) kept.insert(where(nlohmann::json::parse(line)));
  return kept;
}

// Two datasets with planted pairs at known lines (1-based):
//   web:1 ≈ books:2 (J ≈ 0.9)      web:3 == books:4 == web:6 (exact, with different spacing and case)
//   web:2 ≈ web:5 (J ≈ 0.85)       books:1 ~ web:4 (J ≈ 0.3, not a duplicate)
//   books:3 ~ web:7 (J ≈ 0.65: an LSH candidate with 32 × 4 bands, rejected by verification)
//   the rest unrelated.
struct PlantedPair {
  double web1_books2 = 0, web2_web5 = 0, books1_web4 = 0, books3_web7 = 0;
};

PlantedPair write_planted(const fs::path& dir) {
  PlantedCorpus g(2024);
  PlantedPair p;
  const auto x = g.document(200), y = g.document(200), z = g.document(200), w = g.document(200),
             v = g.document(200);
  const std::string zs = join_words(z);
  std::string z_shouted = zs;
  for (char& c : z_shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  write_jsonl(dir / "books.jsonl", {join_words(w), join_words(g.near_duplicate(x, 0.9, &p.web1_books2)),
                                    join_words(v), zs, join_words(g.document(150))});
  write_jsonl(
      dir / "web.jsonl",
      {join_words(x), join_words(y), "  " + zs + "\n", join_words(g.near_duplicate(w, 0.3, &p.books1_web4)),
       join_words(g.near_duplicate(y, 0.85, &p.web2_web5)), z_shouted,
       join_words(g.near_duplicate(v, 0.65, &p.books3_web7)), join_words(g.document(180))});
  return p;
}

DedupOptions planted_options(const fs::path& dir, const std::string& out) {
  DedupOptions o;
  o.inputs = {{"web", dir / "web.jsonl"}, {"books", dir / "books.jsonl"}};
  o.output_dir = dir / out;
  return o;
}

TEST(Dedup, HigherPriorityDatasetSurvivesAndVerificationRejectsBelowThreshold) {
  const fs::path dir = kWork / "planted";
  fs::remove_all(dir);
  const PlantedPair p = write_planted(dir);
  ASSERT_GE(p.web1_books2, 0.9);
  ASSERT_LT(p.web1_books2, 0.95);
  ASSERT_GE(p.web2_web5, 0.85);
  ASSERT_LT(p.books1_web4, 0.4);
  ASSERT_LT(p.books3_web7, 0.75);

  DedupOptions o = planted_options(dir, "out");
  o.priority = {"books", "web"};
  o.lsh = {32, 4};  // a low LSH threshold (≈ 0.42), so the J ≈ 0.65 pair is a candidate verification rejects
  const DedupReport r = dedup(o);
  EXPECT_EQ(r.documents, 13u);
  EXPECT_EQ(r.duplicate_groups, 3u);
  EXPECT_EQ(r.removed, 4u);
  EXPECT_GT(r.candidate_pairs, r.verified_pairs);  // the 0.65 pair was a candidate and was rejected

  const auto removed = read_duplicates(o.output_dir);
  ASSERT_EQ(removed.size(), 4u);
  // Cross-dataset: books outranks web.
  EXPECT_EQ(removed.at({"web", 1}).first, (Where{"books", 2}));
  EXPECT_NEAR(removed.at({"web", 1}).second, p.web1_books2, 1e-4);
  // Exact duplicates: the books copy wins over both web copies, whatever their case and spacing.
  EXPECT_EQ(removed.at({"web", 3}).first, (Where{"books", 4}));
  EXPECT_EQ(removed.at({"web", 6}).first, (Where{"books", 4}));
  EXPECT_DOUBLE_EQ(removed.at({"web", 6}).second, 1.0);
  // Within a dataset: the earlier line wins.
  EXPECT_EQ(removed.at({"web", 5}).first, (Where{"web", 2}));
  const auto kept = read_kept(o.output_dir);
  EXPECT_EQ(kept.size(), 9u);
  EXPECT_TRUE(kept.count({"web", 4}) && kept.count({"books", 1}));  // J ≈ 0.3
  EXPECT_TRUE(kept.count({"web", 7}) && kept.count({"books", 3}));  // J ≈ 0.65, rejected by --verify
  EXPECT_EQ(r.datasets[0].removed, 4u);
  EXPECT_EQ(r.datasets[1].removed, 0u);

  // Without verification every candidate pair joins, so the 0.65 pair merges; no Jaccard is reported.
  o.verify = false;
  o.output_dir = dir / "out-unverified";
  dedup(o);
  const auto unverified = read_duplicates(o.output_dir);
  EXPECT_EQ(unverified.at({"web", 7}).first, (Where{"books", 3}));
  EXPECT_EQ(unverified.at({"web", 7}).second, -1.0);
}

TEST(Dedup, DefaultPriorityIsInputOrder) {
  const fs::path dir = kWork / "planted-default";
  fs::remove_all(dir);
  write_planted(dir);
  DedupOptions o = planted_options(dir, "out");
  dedup(o);
  const auto removed = read_duplicates(o.output_dir);
  EXPECT_EQ(removed.at({"books", 2}).first, (Where{"web", 1}));
  EXPECT_EQ(removed.at({"books", 4}).first, (Where{"web", 3}));
  EXPECT_EQ(removed.at({"web", 6}).first, (Where{"web", 3}));
}

TEST(Dedup, OutputIsByteIdenticalForAnyWorkers) {
  const fs::path dir = kWork / "workers";
  fs::remove_all(dir);
  write_planted(dir);
  std::map<int, std::map<std::string, std::string>> files;
  for (const int workers : {1, 3}) {
    DedupOptions o = planted_options(dir, "out" + std::to_string(workers));
    o.workers = workers;
    o.write_filtered = true;
    const auto r = dedup(o);
    EXPECT_EQ(r.outputs.size(), 4u);
    for (const auto& path : r.outputs) files[workers][path.filename().string()] = read_file(path);
  }
  EXPECT_EQ(files[1].size(), 4u);
  EXPECT_EQ(files[1], files[3]);
}

TEST(Dedup, FilteredDatasetsAreTheKeptLinesByteForByte) {
  const fs::path dir = kWork / "filtered";
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream a(dir / "a.jsonl", std::ios::binary);
    a << "{\"text\": \"caf\\u00e9 au lait one two three\",  \"id\": 1}\r\n"  // CRLF and escapes survive as is
      << "\n"                                                                // blank lines are not documents
      << "{\"id\": 2, \"text\": \"CAFÉ  au lait one two three\"}\n"  // É stays upper-case: not line 4
      << "{\"text\":\"Cafe au lait one two three\"}\n"
      << "{\"text\":\"cafe AU lait one two three\"}";  // no final newline: an exact duplicate of line 4
  }
  DedupOptions o;
  o.inputs = {{"a", dir / "a.jsonl"}};
  o.output_dir = dir / "out";
  o.write_filtered = true;
  const auto r = dedup(o);
  EXPECT_EQ(r.documents, 4u);
  EXPECT_EQ(r.removed, 1u);
  const auto lines = read_lines(dir / "a.jsonl");
  EXPECT_EQ(read_file(dir / "out" / "a.jsonl"), lines[0] + "\n" + lines[2] + "\n" + lines[3] + "\n");
  EXPECT_EQ(read_duplicates(o.output_dir).at({"a", 5}).first, (Where{"a", 4}));
}

TEST(Dedup, EmptyDocumentsAreKeptAndNeverDuplicates) {
  const fs::path dir = kWork / "empty";
  fs::remove_all(dir);
  write_jsonl(dir / "e.jsonl", {"", "   \n\t", "", "some words here", "some words here"});
  DedupOptions o;
  o.inputs = {{"e", dir / "e.jsonl"}};
  o.output_dir = dir / "out";
  const auto r = dedup(o);
  EXPECT_EQ(r.datasets[0].empty, 3u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(read_kept(o.output_dir), (std::set<Where>{{"e", 1}, {"e", 2}, {"e", 3}, {"e", 4}}));
}

TEST(Dedup, HugeDocumentWorks) {
  const fs::path dir = kWork / "huge";
  fs::remove_all(dir);
  PlantedCorpus g(5);
  std::string huge;
  while (huge.size() < (1u << 20)) huge += g.random_word() + (g.below(12) == 0 ? "\n" : " ");
  std::string huge_edited = huge;
  huge_edited.replace(huge.size() / 2, 40, "a few words were changed in the middle here");
  write_jsonl(dir / "a.jsonl", {"short one", huge});
  write_jsonl(dir / "b.jsonl", {huge_edited, "short two"});
  DedupOptions o;
  o.inputs = {{"a", dir / "a.jsonl"}, {"b", dir / "b.jsonl"}};
  o.output_dir = dir / "out";
  const auto r = dedup(o);
  EXPECT_EQ(r.removed, 1u);
  const auto removed = read_duplicates(o.output_dir);
  EXPECT_EQ(removed.at({"b", 1}).first, (Where{"a", 2}));
  EXPECT_GT(removed.at({"b", 1}).second, 0.99);
}

// Each call gets its own directory: ctest runs these tests as parallel processes.
void expect_clean_failure(const std::string& name, const std::vector<std::string>& lines,
                          const std::string& message) {
  const fs::path dir = kWork / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "bad.jsonl", std::ios::binary);
    for (const auto& l : lines) f << l << '\n';
  }
  write_jsonl(dir / "good.jsonl", {"fine text here", "more fine text"});
  DedupOptions o;
  o.inputs = {{"good", dir / "good.jsonl"}, {"bad", dir / "bad.jsonl"}};
  o.output_dir = dir / "out";
  o.workers = 3;
  try {
    dedup(o);
    ADD_FAILURE() << "no error for " << message;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.output_dir));
  for (const auto& entry : fs::directory_iterator(dir))  // nor the staging directory
    EXPECT_NE(entry.path().extension(), "") << entry.path();
}

TEST(Dedup, MalformedLineFailsWithFileAndLineAndWritesNothing) {
  expect_clean_failure(
      "malformed", {R"({"text": "ok"})", R"({"text": "ok too"})", R"({"text": "broken)", R"({"text": "x"})"},
      "bad.jsonl:3: not a JSON object");
}

TEST(Dedup, MissingKeyFailsWithFileAndLine) {
  expect_clean_failure("missing-key", {R"({"text": "ok"})", R"({"body": "no text"})"},
                       "bad.jsonl:2: no string field 'text'");
  expect_clean_failure("not-string", {R"({"text": 42})"}, "bad.jsonl:1: no string field 'text'");
  expect_clean_failure("not-object", {R"(["text"])"}, "bad.jsonl:1: not a JSON object");
}

TEST(Dedup, RefusesInconsistentOptions) {
  const auto fails_with = [](DedupOptions o, const std::string& message) {
    o.output_dir = kWork / "never";
    try {
      dedup(o);
      ADD_FAILURE() << "no error for " << message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(kWork / "never"));
  };
  DedupOptions o;
  o.inputs = {{"a", "/no/such.jsonl"}};
  DedupOptions bands = o;
  bands.lsh = {10, 8};
  fails_with(bands, "--bands × --rows must equal --permutations: 10 × 8 = 80, not 128");
  DedupOptions priority = o;
  priority.priority = {"a", "b"};
  fails_with(priority, "--priority names 'b', which is not an --input dataset");
  DedupOptions twice = o;
  twice.inputs.push_back({"a", "/other.jsonl"});
  fails_with(twice, "two --input datasets named 'a'");
  DedupOptions reserved = o;
  reserved.inputs = {{"kept", "/x.jsonl"}};
  fails_with(reserved, "dataset name 'kept' is reserved");
  fails_with(o, "cannot read /no/such.jsonl");
  // Writing the filtered dataset over its own input would destroy it.
  const fs::path own = kWork / "own";
  fs::remove_all(own);
  write_jsonl(own / "web.jsonl", {"some text"});
  DedupOptions overwrite;
  overwrite.inputs = {{"web", own / "web.jsonl"}};
  overwrite.output_dir = own;
  overwrite.write_filtered = true;
  EXPECT_THROW(dedup(overwrite), Error);
  EXPECT_EQ(read_lines(own / "web.jsonl").size(), 1u);
  EXPECT_THROW(parse_dataset_input("no-equals-sign"), Error);
  EXPECT_THROW(parse_dataset_input("bad/name=x.jsonl"), Error);
  EXPECT_EQ(parse_dataset_input("web=a=b.jsonl").path, "a=b.jsonl");
}

}  // namespace
}  // namespace mtnlg::data::dedup
