// Recall and precision on a generated corpus: 1,800 unrelated documents and 200 planted near-duplicates of
// exact word-shingle Jaccard in [0.8, 0.95], spread across two datasets and within each. Prints what it
// measured (recall, precision, docs/s) for the README; asserts recall >= 0.95 and, verified, precision >=
// 0.99.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "dedup_command.hpp"
#include "planted_corpus.hpp"

namespace mtnlg::data::dedup {
namespace {

namespace fs = std::filesystem;
using Where = std::pair<std::string, std::uint64_t>;

struct Measured {
  double recall = 0, precision = 0, docs_per_second = 0;
};

class RecallTest : public ::testing::Test {
 protected:
  // Each test plants its own copy of the corpus: ctest runs the tests as parallel processes.
  static void plant(const std::string& name) {
    dir_ = fs::path(MTNLG_DEDUP_TEST_WORK_DIR) / name;
    fs::remove_all(dir_);
    planted_.clear();
    testing::PlantedCorpus g(77);
    std::vector<std::vector<std::string>> base;
    for (int i = 0; i < 1800; ++i) base.push_back(g.document(120 + g.below(160)));
    std::vector<std::string> texts[2];
    std::vector<Where> where_base(base.size());
    for (std::size_t i = 0; i < base.size(); ++i) {
      const int d = static_cast<int>(i % 2);
      texts[d].push_back(testing::join_words(base[i]));
      where_base[i] = {d == 0 ? "a" : "b", texts[d].size()};
    }
    // Every 9th base document gets one near-duplicate, in either dataset; targets cycle over [0.8, 0.95).
    for (std::size_t k = 0; k < 200; ++k) {
      const std::size_t i = k * 9;
      const double target = 0.8 + 0.15 * static_cast<double>(k % 16) / 16;
      double achieved = 0;
      const auto copy = g.near_duplicate(base[i], target, &achieved);
      const int d = static_cast<int>(g.below(2));
      texts[d].push_back(testing::join_words(copy));
      planted_.insert({where_base[i], {d == 0 ? "a" : "b", texts[d].size()}});
    }
    testing::write_jsonl(dir_ / "a.jsonl", texts[0]);
    testing::write_jsonl(dir_ / "b.jsonl", texts[1]);
  }

  // Pairs predicted: (kept, removed) for every removed document. A planted pair counts as found when both of
  // its documents end up in one component.
  static Measured measure(bool verify) {
    DedupOptions o;
    o.inputs = {{"a", dir_ / "a.jsonl"}, {"b", dir_ / "b.jsonl"}};
    o.output_dir = dir_ / (verify ? "verified" : "unverified");
    o.verify = verify;
    o.workers = 2;
    const DedupReport r = dedup(o);
    std::map<Where, Where> component_of;  // document → its component's kept document
    std::size_t predicted = 0, correct = 0;
    std::set<std::pair<Where, Where>> predicted_pairs;
    for (const auto& line : testing::read_lines(o.output_dir / "duplicates.jsonl")) {
      const auto j = nlohmann::json::parse(line);
      const Where kept{j["kept"]["dataset"], j["kept"]["line"]};
      component_of[kept] = kept;
      for (const auto& rm : j["removed"]) {
        const Where removed{rm["dataset"], rm["line"]};
        component_of[removed] = kept;
        ++predicted;
        correct += planted_.count({kept, removed}) + planted_.count({removed, kept});
      }
    }
    std::size_t found = 0;
    for (const auto& [x, y] : planted_)
      found += component_of.count(x) && component_of.count(y) && component_of[x] == component_of[y];
    Measured m{static_cast<double>(found) / planted_.size(),
               predicted ? static_cast<double>(correct) / predicted : 1.0, r.documents / r.seconds};
    std::printf(
        "%s: %zu documents, %zu planted pairs, %zu found, recall %.4f; %zu predicted pairs, precision %.4f; "
        "%zu candidate pairs; %.3f s, %.0f docs/s (2 workers)\n",
        verify ? "verified" : "unverified", r.documents, planted_.size(), found, m.recall, predicted,
        m.precision, r.candidate_pairs, r.seconds, m.docs_per_second);
    ::testing::Test::RecordProperty(verify ? "recall_verified" : "recall_unverified",
                                    std::to_string(m.recall));
    return m;
  }

  static inline fs::path dir_;
  static inline std::set<std::pair<Where, Where>> planted_;  // (original, near-duplicate)
};

TEST_F(RecallTest, VerifiedRecallAndPrecision) {
  plant("recall-verified");
  ASSERT_EQ(planted_.size(), 200u);
  const Measured m = measure(true);
  EXPECT_GE(m.recall, 0.95);
  EXPECT_GE(m.precision, 0.99);
}

TEST_F(RecallTest, UnverifiedRecall) {
  plant("recall-unverified");
  const Measured m = measure(false);
  EXPECT_GE(m.recall, 0.95);
  EXPECT_GE(m.precision, 0.9);  // unrelated documents share no shingles here; LSH alone rarely pairs them
}

}  // namespace
}  // namespace mtnlg::data::dedup
