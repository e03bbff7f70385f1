// Prompt fidelity: the (context, continuation) requests mtnlg builds for the task fixtures, compared byte for
// byte with those lm-evaluation-harness's own task code builds (tests/reference/harness_prompts.py, output
// committed as fixtures/harness_requests.json), zero-shot and with two few-shot examples; and the few-shot
// draw's rules.
#include <algorithm>
#include <fstream>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "eval/task_requests.hpp"
#include "mtnlg/error.hpp"
#include "tasks/task_spec.hpp"

namespace mtnlg::host::eval {
namespace {

const std::filesystem::path fixtures = MTNLG_TASK_EVAL_FIXTURES;

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs sorted(Pairs pairs) {
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

class HarnessRequests : public testing::TestWithParam<std::string> {};

TEST_P(HarnessRequests, AreMtnlgsByteForByte) {
  const std::string name = GetParam();
  const tasks::TaskSpec& spec = tasks::task(name);
  const std::vector<TaskDocument> docs = load_task_documents(spec, fixtures / (name + ".jsonl"));
  nlohmann::json expected;
  std::ifstream(fixtures / "harness_requests.json") >> expected;
  ASSERT_TRUE(expected.contains(name));
  ASSERT_EQ(expected[name].size(), 3u);
  for (const auto& c : expected[name]) {
    std::vector<const tasks::TaskPrompt*> shots;
    for (const auto& s : c["shots"]) shots.push_back(&docs.at(s.get<std::size_t>()).prompt);
    Pairs ours, theirs;
    for (const auto& r : build_requests(docs.at(c["document"].get<std::size_t>()).prompt, shots))
      ours.emplace_back(r.context, r.continuation);
    for (const auto& r : c["requests"]) theirs.emplace_back(r[0].get<std::string>(), r[1].get<std::string>());
    // The same requests; the order may differ (BoolQ's and WiC's choices are [" no", " yes"] here so that
    // the index is the label, the harness asks " yes" first).
    EXPECT_EQ(sorted(ours), sorted(theirs))
        << name << " document " << c["document"] << " shots " << c["shots"];
  }
}

INSTANTIATE_TEST_SUITE_P(EveryTask, HarnessRequests,
                         testing::Values("lambada", "boolq", "race", "piqa", "hellaswag", "winogrande",
                                         "anli", "hans", "wic"));

TEST(TaskDocuments, RaceGroupsHuggingFaceLinesByArticle) {
  const auto docs = load_task_documents(tasks::task("race"), fixtures / "race.jsonl");
  ASSERT_EQ(docs.size(), 3u);  // four lines: one article, two lines of one article, one article
  EXPECT_EQ(docs[1].line, 2u);
  EXPECT_EQ(docs[1].doc["questions"].size(), 2u);
  EXPECT_EQ(docs[1].prompt.gold, 2);  // "C" of the last question
}

TEST(TaskDocuments, AccNormLengthsAreCharactersOfTheChoiceWithoutItsSpace) {
  const auto docs = load_task_documents(tasks::task("piqa"), fixtures / "piqa.jsonl");
  EXPECT_EQ(docs[0].prompt.norm_lengths, (std::vector<double>{7.0, 133.0}));
  EXPECT_TRUE(
      load_task_documents(tasks::task("boolq"), fixtures / "boolq.jsonl")[0].prompt.norm_lengths.empty());
}

TEST(TaskDocuments, MissingFieldNamesFileAndLine) {
  const auto dir = std::filesystem::path(MTNLG_TASK_EVAL_WORK_DIR);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "piqa_bad.jsonl") << R"({"goal": "g", "sol1": "a", "sol2": "b", "label": 0})"
                                        << "\n\n"
                                        << R"({"goal": "g", "sol1": "a", "label": 1})"
                                        << "\n";
  try {
    load_task_documents(tasks::task("piqa"), dir / "piqa_bad.jsonl");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("piqa_bad.jsonl:3: task 'piqa': missing field 'sol2'"),
              std::string::npos)
        << e.what();
  }
}

TEST(ReplaceLastPart, SplitsLikePython) {
  EXPECT_EQ(replace_last_part("only", "new"), "new");
  EXPECT_EQ(replace_last_part("a\n\nb", "new"), "a\n\nnew");
  // "a\n\n\nb".split("\n\n") is ["a", "\nb"]: the part dropped is "\nb".
  EXPECT_EQ(replace_last_part("a\n\n\nb", "new"), "a\n\nnew");
  EXPECT_EQ(replace_last_part("x\n\ny\n\nz", "new"), "x\n\ny\n\nnew");
}

std::vector<TaskDocument> pool_of(int n) {
  std::vector<TaskDocument> pool;
  for (int i = 0; i < n; ++i) pool.push_back({nlohmann::json{{"text", "doc " + std::to_string(i)}}, 0, {}});
  return pool;
}

TEST(DrawFewshot, NeverTheEvaluatedDocumentAndReproducible) {
  const auto pool = pool_of(4);
  std::mt19937_64 a(7), b(7);
  for (int round = 0; round < 200; ++round) {
    const auto picked = draw_fewshot(pool, pool[2].doc, 3, a, "pool.jsonl");
    ASSERT_EQ(picked.size(), 3u);
    EXPECT_EQ(std::count(picked.begin(), picked.end(), 2u), 0);
    EXPECT_EQ(std::set<std::size_t>(picked.begin(), picked.end()).size(), 3u);
    EXPECT_EQ(picked, draw_fewshot(pool, pool[2].doc, 3, b, "pool.jsonl"));
  }
}

TEST(DrawFewshot, FailsWhenTooFewOtherDocumentsRemain) {
  const auto pool = pool_of(3);
  std::mt19937_64 rng(1);
  EXPECT_EQ(draw_fewshot(pool, nlohmann::json{{"text", "elsewhere"}}, 3, rng, "pool.jsonl").size(), 3u);
  EXPECT_THROW(
      {
        try {
          draw_fewshot(pool, pool[0].doc, 3, rng, "pool.jsonl");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("--shots 3 but pool.jsonl has only 2 few-shot documents"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      Error);
}

}  // namespace
}  // namespace mtnlg::host::eval
