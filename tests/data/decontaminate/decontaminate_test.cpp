// mtnlg-data decontaminate (tools/data/decontaminate): the word rule, the cut rule, and whole runs over
// generated training documents with planted task text. Filler text is made of invented words, so only what is
// planted can match a task.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "decontaminate/cut.hpp"
#include "decontaminate/decontaminate_command.hpp"
#include "decontaminate/ngram_table.hpp"
#include "decontaminate/words.hpp"
#include "mtnlg/error.hpp"

namespace mtnlg::data::decontaminate {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::vector<std::string> folded_words(std::string_view text) {
  std::vector<Word> words;
  split_words(text, words);
  std::vector<std::string> out;
  for (const auto& w : words) {
    out.emplace_back();
    append_folded(text, w, out.back());
  }
  return out;
}

TEST(DecontaminateWords, LowerCaseWithoutPunctuation) {
  EXPECT_THAT(folded_words("Hello, World! It's 3:45 -- e.g. snake_case"),
              ::testing::ElementsAre("hello", "world", "it", "s", "3", "45", "e", "g", "snake", "case"));
  // Typographic quotes, dashes and no-break spaces separate; other scripts and Latin-1 letters stay words.
  EXPECT_THAT(folded_words("\u201cCafé\u201d\u2014Ünïcode\u00a0naïve"),
              ::testing::ElementsAre("café", "ünïcode", "naïve"));
}

TEST(DecontaminateWords, OffsetsPointIntoTheText) {
  std::vector<Word> words;
  split_words("  Ab, cd.", words);
  ASSERT_EQ(words.size(), 2u);
  EXPECT_EQ(words[0].begin, 2u);
  EXPECT_EQ(words[0].end, 4u);
  EXPECT_EQ(words[1].begin, 6u);
  EXPECT_EQ(words[1].end, 8u);
  std::vector<Word> other;
  split_words("AB CD", other);
  EXPECT_EQ(words[0].hash, other[0].hash);
}

TEST(DecontaminateNgrams, LongTextsGiveNgramsShortOnesAreWholeOrIgnored) {
  NgramTable table(4, 2);
  EXPECT_EQ(table.add_text("one two three four five", 0), 5u);  // 2 four-grams
  EXPECT_EQ(table.add_text("Six, seven!", 1), 2u);              // whole
  EXPECT_EQ(table.add_text("eight", 1), 1u);                    // too short
  ASSERT_EQ(table.ngrams().size(), 3u);
  EXPECT_EQ(table.ngrams()[0].words, "one two three four");
  EXPECT_EQ(table.ngrams()[2].words, "six seven");
  const std::string doc = "x ONE two three four y six seven two three four five";
  std::vector<Word> words;
  split_words(doc, words);
  std::vector<Match> matches;
  table.find(doc, words, matches);
  ASSERT_EQ(matches.size(), 3u);
  EXPECT_EQ(doc.substr(matches[0].begin, matches[0].end - matches[0].begin), "ONE two three four");
  EXPECT_EQ(doc.substr(matches[1].begin, matches[1].end - matches[1].begin), "six seven");
  EXPECT_EQ(doc.substr(matches[2].begin, matches[2].end - matches[2].begin), "two three four five");
  // One word different is no match.
  const std::string near = "one two three fours";
  split_words(near, words);
  table.find(near, words, matches);
  EXPECT_TRUE(matches.empty());
}

TEST(DecontaminateCut, ExtendsTheWindowOutwardToSentenceEnds) {
  //                  0         1         2         3         4
  //                  0123456789012345678901234567890123456789012345
  const std::string text = "Aaaa. Bbbb. Cc MATCH dd. Eeee. Ffff! Gggg";
  const std::size_t begin = text.find("MATCH"), end = begin + 5;
  // A window of 3 characters: [12, 23) widens to after "Bbbb." (10) ... through "dd." (24).
  const Cut c = cut(text, {{begin, end, 0}}, {3, 1, 10});
  ASSERT_EQ(c.removals.size(), 1u);
  EXPECT_EQ(c.removals[0].begin, text.find(" Cc"));
  EXPECT_EQ(c.removals[0].end, text.find(" Eeee"));
  ASSERT_EQ(c.pieces.size(), 2u);
  EXPECT_EQ(text.substr(c.pieces[0].begin, c.pieces[0].end - c.pieces[0].begin), "Aaaa. Bbbb.");
  EXPECT_EQ(text.substr(c.pieces[1].begin), " Eeee. Ffff! Gggg");
  // A sentence end exactly where the window starts is kept (it is before the window); 8 characters reach
  // back into "Bbbb." so the text goes back to "Aaaa.".
  const Cut wide = cut(text, {{begin, end, 0}}, {8, 1, 10});
  EXPECT_EQ(text.substr(wide.pieces[0].begin, wide.pieces[0].end), "Aaaa.");
  EXPECT_EQ(text.substr(wide.pieces[1].begin), " Ffff! Gggg");
  // No sentence end before or after: everything goes.
  const Cut all = cut("no ends here MATCH nor here", {{13, 18, 0}}, {3, 1, 10});
  EXPECT_TRUE(all.pieces.empty());
  // A newline ends a sentence too; windows count code points, not bytes.
  const std::string lines = "ééé\nxx MATCH yy\nzz";
  const Cut nl = cut(lines, {{lines.find("MATCH"), lines.find("MATCH") + 5, 0}}, {3, 1, 10});
  ASSERT_EQ(nl.pieces.size(), 2u);
  EXPECT_EQ(lines.substr(nl.pieces[0].begin, nl.pieces[0].end), "ééé\n");
  EXPECT_EQ(lines.substr(nl.pieces[1].begin), "zz");
}

TEST(DecontaminateCut, MergesOverlappingWindowsAndCountsSplits) {
  const std::string text = "A. b M1 c M2 d. E. f M3 g. H.";
  const auto at = [&](const char* m) { return Match{text.find(m), text.find(m) + 2, 0}; };
  const Cut c = cut(text, {at("M1"), at("M2"), at("M3")}, {1, 2, 1});
  ASSERT_EQ(c.removals.size(), 2u);
  EXPECT_EQ(c.removals[0].matches, 2u);
  EXPECT_TRUE(c.too_many_splits);  // 2 splits > 1
  EXPECT_EQ(c.kept(), 0u);
  const Cut ok = cut(text, {at("M1"), at("M2"), at("M3")}, {1, 3, 2});
  EXPECT_FALSE(ok.too_many_splits);
  ASSERT_EQ(ok.pieces.size(), 3u);  // "A.", " E.", " H."
  EXPECT_FALSE(ok.pieces[0].kept);  // 2 characters < 3
  EXPECT_TRUE(ok.pieces[1].kept);
}

// --- whole runs ---------------------------------------------------------------------------------------

// Each test its own folder: ctest runs the tests of this binary as parallel processes.
fs::path work_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return fs::path(MTNLG_DECONTAMINATE_WORK_DIR) / (std::string(info->test_suite_name()) + "." + info->name());
}

// Sentences of invented words ("Kalomi zuter vos.") of at least `chars` characters.
std::string filler(std::mt19937& rng, std::size_t chars) {
  static const char* syllables[] = {"ka", "lo", "mi", "zu", "ter", "vos", "pel", "dra", "quo", "xin"};
  std::string out;
  while (out.size() < chars) {
    const int words = 5 + static_cast<int>(rng() % 8);
    for (int w = 0; w < words; ++w) {
      std::string word;
      for (int s = 0, n = 2 + static_cast<int>(rng() % 2); s < n; ++s) word += syllables[rng() % 10];
      if (w == 0) word[0] = static_cast<char>(word[0] - 32);
      out += word + (w + 1 < words ? " " : ". ");
    }
  }
  return out;
}

void write_lines(const fs::path& path, const std::vector<std::string>& texts) {
  std::ofstream out(path);
  for (const auto& t : texts) out << nlohmann::json{{"text", t}, {"id", &t - texts.data()}}.dump() << "\n";
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What cut.hpp promises for one match [begin, end) of an ASCII text with remove_chars 200: the kept text
// before and after it.
std::pair<std::string, std::string> expected_pieces(const std::string& text, std::size_t begin,
                                                    std::size_t end) {
  const auto is_end = [](char ch) { return ch == '.' || ch == '!' || ch == '?' || ch == '\n'; };
  std::string before, after;
  for (std::size_t p = begin >= 200 ? begin - 200 : 0; p-- > 0;)
    if (is_end(text[p])) {
      before = text.substr(0, p + 1);
      break;
    }
  for (std::size_t q = std::min(text.size(), end + 200); q < text.size(); ++q)
    if (is_end(text[q])) {
      after = text.substr(q + 1);
      break;
    }
  return {before, after};
}

// Task texts for the runs, in LAMBADA's and PiQA's layouts.
const std::string kPassage =
    "climbed the spiral stairs every evening to light the lamp for passing ships";                    // 13
const std::string kCommon = "and then they all went home for supper after a long day in the fields";  // 15
const std::string kRare =
    "the brass compass pointed steadily north even while the ship rolled in heavy swells";
const std::string kGoal = "remove a stuck ring from a swollen finger";  // 8 words: matched whole

class DecontaminateRun : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work_dir());
    write_lines(work_dir() / "lambada.jsonl", {"The keeper " + kPassage + " and he never missed a night.",
                                               kCommon, kRare, "too short to count"});
    std::ofstream(work_dir() / "piqa.jsonl")
        << nlohmann::json{{"goal", kGoal}, {"sol1", "soap"}, {"sol2", "pull"}}.dump() << "\n";
    options.input = work_dir() / "train.jsonl";
    options.output = work_dir() / "clean.jsonl";
    options.report = work_dir() / "report.jsonl";
    options.tasks = {{"lambada", work_dir() / "lambada.jsonl"}, {"piqa", work_dir() / "piqa.jsonl"}};
    fs::remove(options.output);
    fs::remove(options.report);
  }

  DecontaminateOptions options;
  std::mt19937 rng{1234};
};

TEST_F(DecontaminateRun, PlantedNgramsGoWithTheirWindowsAndTheRestStaysByteIdentical) {
  const std::string head = filler(rng, 1200), tail = filler(rng, 1200);
  const std::string planted = head + "It said that he " + kPassage + " at dusk. " + tail;
  const std::string goal =
      filler(rng, 900) + "Step one: Remove a stuck RING, from a swollen finger! " + filler(rng, 900);
  const std::string clean = filler(rng, 2000);
  write_lines(options.input, {planted, clean, goal});
  const auto summary = decontaminate(options);
  EXPECT_EQ(summary.documents_in, 3u);
  EXPECT_EQ(summary.documents_split, 2u);
  EXPECT_EQ(summary.documents_untouched, 1u);

  const auto out = read_lines(options.output);
  ASSERT_EQ(out.size(), 5u);  // two pieces, the clean document, two pieces
  const std::size_t begin = planted.find("climbed"), end = begin + kPassage.size();
  const auto [before, after] = expected_pieces(planted, begin, end);
  ASSERT_GT(before.size(), 200u);
  ASSERT_GT(after.size(), 200u);
  const auto piece0 = nlohmann::json::parse(out[0]), piece1 = nlohmann::json::parse(out[1]);
  EXPECT_EQ(piece0["text"], before);
  EXPECT_EQ(piece0["piece"], 0);
  EXPECT_EQ(piece0["id"], 0);  // the rest of the object is kept
  EXPECT_EQ(piece1["text"], after);
  EXPECT_EQ(piece1["piece"], 1);
  EXPECT_EQ(out[2], (nlohmann::json{{"text", clean}, {"id", 1}}.dump()));  // untouched: the very same line

  const std::size_t gbegin = goal.find("Remove"), gend = goal.find("finger") + 6;
  const auto [gbefore, gafter] = expected_pieces(goal, gbegin, gend);
  EXPECT_EQ(nlohmann::json::parse(out[3])["text"], gbefore);
  EXPECT_EQ(nlohmann::json::parse(out[4])["text"], gafter);

  const auto report = read_lines(options.report);
  ASSERT_EQ(report.size(), 2u);
  const auto r0 = nlohmann::json::parse(report[0]);
  EXPECT_EQ(r0["line"], 1);
  EXPECT_EQ(r0["action"], "split");
  EXPECT_EQ(r0["removed"][0]["task"], "lambada");
  EXPECT_EQ(r0["removed"][0]["ngram"], kPassage);
  EXPECT_EQ(r0["removed"][0]["match"], nlohmann::json({begin, end}));
  EXPECT_EQ(r0["removed"][0]["removed"], nlohmann::json({before.size(), planted.size() - after.size()}));
  const auto r1 = nlohmann::json::parse(report[1]);
  EXPECT_EQ(r1["line"], 3);
  EXPECT_EQ(r1["removed"][0]["task"], "piqa");
  EXPECT_EQ(r1["removed"][0]["ngram"], kGoal);
}

TEST_F(DecontaminateRun, NgramsInTenDocumentsAreIgnoredInNineRemoved) {
  std::vector<std::string> docs;
  for (int i = 0; i < 10; ++i) docs.push_back(filler(rng, 600) + "So " + kCommon + ". " + filler(rng, 600));
  for (int i = 0; i < 9; ++i) docs.push_back(filler(rng, 600) + "Yes " + kRare + ". " + filler(rng, 600));
  write_lines(options.input, docs);
  const auto summary = decontaminate(options);
  EXPECT_EQ(summary.ngrams_ignored, 3u);  // kCommon's three 13-grams
  EXPECT_EQ(summary.documents_untouched, 10u);
  EXPECT_EQ(summary.documents_split, 9u);
  const auto out = read_lines(options.output);
  ASSERT_EQ(out.size(), 10u + 18u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(out[i], nlohmann::json({{"text", docs[i]}, {"id", i}}).dump());
  for (std::size_t i = 10; i < out.size(); ++i) EXPECT_THAT(out[i], ::testing::Not(HasSubstr("compass")));
}

TEST_F(DecontaminateRun, ElevenSplitsDropTheDocumentTenDoNot) {
  const auto planted = [&](int matches) {
    std::string doc = filler(rng, 1000);
    for (int m = 0; m < matches; ++m) doc += "Again " + kPassage + ". " + filler(rng, 1000);
    return doc;
  };
  write_lines(options.input, {planted(11), planted(10)});
  const auto summary = decontaminate(options);
  EXPECT_EQ(summary.documents_dropped_splits, 1u);
  EXPECT_EQ(summary.documents_split, 1u);
  EXPECT_EQ(summary.pieces_kept, 11u);
  const auto report = read_lines(options.report);
  ASSERT_EQ(report.size(), 2u);
  const auto r0 = nlohmann::json::parse(report[0]);
  EXPECT_EQ(r0["action"], "dropped");
  EXPECT_EQ(r0["reason"], "too many splits (11 > --max-splits 10)");
  EXPECT_EQ(r0["removed"].size(), 11u);
  for (const auto& line : read_lines(options.output)) EXPECT_EQ(nlohmann::json::parse(line)["id"], 1);
}

TEST_F(DecontaminateRun, PiecesShorterThanTheMinimumAreDropped) {
  // After the match: 200 removed characters up to a sentence end, then one short sentence.
  const std::string head = filler(rng, 800);
  const std::string doc = head + "Then " + kPassage + ". " + std::string(250, 'x') + ". Short tail here.";
  const std::string only_short = "Tiny. " + kPassage + ". " + std::string(250, 'y') + ". Also short.";
  write_lines(options.input, {doc, only_short});
  const auto summary = decontaminate(options);
  EXPECT_EQ(summary.documents_split, 1u);
  EXPECT_EQ(summary.documents_dropped_short, 1u);
  EXPECT_EQ(summary.pieces_dropped, 2u);
  const auto out = read_lines(options.output);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(out[0])["text"], expected_pieces(doc, doc.find("climbed"), 0).first);
  const auto r0 = nlohmann::json::parse(read_lines(options.report)[0]);
  EXPECT_EQ(r0["pieces"][1]["kept"], false);
  EXPECT_EQ(r0["pieces"][1]["why"], "shorter than 200 characters");
  const auto r1 = nlohmann::json::parse(read_lines(options.report)[1]);
  EXPECT_EQ(r1["action"], "dropped");
  EXPECT_EQ(r1["reason"], "every piece shorter than 200 characters");
}

TEST_F(DecontaminateRun, ATaskFileMissingAFieldNamesTaskFileLineAndField) {
  write_lines(options.input, {filler(rng, 300)});
  options.tasks = {{"piqa", fs::path(MTNLG_DECONTAMINATE_FIXTURES) / "piqa_missing_goal.jsonl"}};
  try {
    decontaminate(options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("piqa_missing_goal.jsonl:2: task 'piqa': missing field 'goal'"));
  }
  EXPECT_FALSE(fs::exists(options.output));
}

}  // namespace
}  // namespace mtnlg::data::decontaminate
