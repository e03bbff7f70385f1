// The task registry (tools/tasks): every task reads its hand-written two-line fixture (one line per release
// layout where releases differ) into the texts decontamination needs, and a missing field names task and
// field.
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mtnlg/error.hpp"
#include "tasks/task_spec.hpp"

namespace mtnlg::tasks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<nlohmann::json> fixture(const std::string& name) {
  std::ifstream in(std::string(MTNLG_DECONTAMINATE_FIXTURES) + "/" + name + ".jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  EXPECT_EQ(lines.size(), 2u) << name;
  return lines;
}

std::vector<std::string> texts(const std::string& name, std::size_t line) {
  return task(name).texts(fixture(name).at(line));
}

std::string error_of(const std::string& name, const nlohmann::json& example) {
  try {
    task(name).texts(example);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(TaskRegistry, KnowsTheNineMtnlgTasksInTableOrder) {
  EXPECT_EQ(task_names(), "lambada, boolq, race, piqa, hellaswag, winogrande, anli, hans, wic");
  for (const auto& t : all_tasks()) {
    EXPECT_FALSE(t.description.empty()) << t.name;
    EXPECT_FALSE(t.fields.empty()) << t.name;
    EXPECT_NE(t.texts, nullptr) << t.name;
  }
}

TEST(TaskRegistry, UnknownTaskListsTheKnownOnes) {
  try {
    task("squad");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("unknown task 'squad' (known tasks: lambada, boolq, race, piqa, hellaswag, "
                          "winogrande, anli, hans, wic)"));
  }
}

TEST(TaskRegistry, Lambada) {
  EXPECT_THAT(texts("lambada", 1), ElementsAre("she folded the letter twice and tucked it under the loose "
                                               "floorboard where her brother kept his marbles"));
}

TEST(TaskRegistry, BoolqOriginalAndSuperGlue) {
  EXPECT_THAT(texts("boolq", 0), ElementsAre(HasSubstr("Botanically a tomato"),
                                             "is a tomato a fruit in the "
                                             "botanical sense"));
  EXPECT_THAT(texts("boolq", 1), ElementsAre(HasSubstr("Penguins are flightless"), "can penguins fly"));
}

TEST(TaskRegistry, RaceOriginalListsAndHuggingFaceRows) {
  EXPECT_THAT(texts("race", 0),
              ElementsAre(HasSubstr("Tom planted"),
                          "What did Tom do every morning before the first lesson began "
                          "at school?",
                          "Where was the garden?", "He watered the beans in the garden", "He read", "He ran",
                          "He slept", "Behind the school", "At home", "In a park", "On a roof"));
  EXPECT_THAT(texts("race", 1), ElementsAre(HasSubstr("The old bridge"), HasSubstr("Why did the villagers"),
                                            "The bridge was being repaired", "It was cheaper",
                                            "They liked boats", "The river froze"));
}

TEST(TaskRegistry, PiqaWithAndWithoutLabel) {
  EXPECT_THAT(texts("piqa", 0), ElementsAre("how do you keep a paint brush from drying out overnight",
                                            "wrap the wet brush tightly in plastic cling film",
                                            "leave the brush standing in the open tin of paint"));
  EXPECT_EQ(texts("piqa", 1).size(), 3u);  // the second line has no label: not needed to decontaminate
}

TEST(TaskRegistry, HellaswagCtxOrItsPartsWithoutWikihowMarkup) {
  EXPECT_THAT(
      texts("hellaswag", 0),
      ElementsAre("A man fills a sink with hot soapy water. he",
                  "scrubs each plate with a sponge and rinses it under the tap.",
                  "throws the plates out of the window.", "eats the sponge.", "leaves the kitchen forever."));
  EXPECT_THAT(texts("hellaswag", 1), ElementsAre(" How to make a kite. Cut two sticks to length. then",
                                                 " tie the sticks together in a cross with strong string.",
                                                 "burn the sticks.", "paint the sky.", "sell the string."));
}

TEST(TaskRegistry, WinograndeFillsTheBlankWithEachOption) {
  EXPECT_THAT(texts("winogrande", 0),
              ElementsAre("The trophy would not fit in the brown suitcase because the trophy was too big.",
                          "The trophy would not fit in the brown suitcase because the suitcase was too big.",
                          "trophy", "suitcase"));
}

TEST(TaskRegistry, AnliHuggingFaceAndOriginal) {
  EXPECT_THAT(texts("anli", 0),
              ElementsAre(HasSubstr("The museum opened"), "The museum is more than a century old."));
  EXPECT_THAT(texts("anli", 1), ElementsAre(HasSubstr("Lena won"), "Lena lost the final."));
}

TEST(TaskRegistry, HansHuggingFaceAndOriginal) {
  EXPECT_THAT(texts("hans", 0), ElementsAre("The doctor near the actor danced.", "The actor danced."));
  EXPECT_THAT(texts("hans", 1), ElementsAre("The lawyers resigned, and the secretary saw the judge.",
                                            "The secretary saw the judge."));
}

TEST(TaskRegistry, Wic) {
  EXPECT_THAT(texts("wic", 0),
              ElementsAre("She sat on the bank of the river.", "He deposited money at the bank.", "bank"));
}

TEST(TaskRegistry, MissingOrMistypedFieldsNameTaskAndField) {
  EXPECT_EQ(error_of("piqa", {{"sol1", "a"}, {"sol2", "b"}}), "task 'piqa': missing field 'goal'");
  EXPECT_EQ(error_of("anli", {{"hypothesis", "h"}}), "task 'anli': missing field 'premise' (or 'context')");
  EXPECT_EQ(error_of("lambada", {{"text", 3}}), "task 'lambada': field 'text' is not a string but number");
  EXPECT_EQ(error_of("hellaswag", {{"ctx", "c"}, {"endings", "e"}}),
            "task 'hellaswag': field 'endings' is not a list but string");
  EXPECT_EQ(error_of("race", {{"article", "a"}, {"question", "q"}}), "task 'race': missing field 'options'");
  EXPECT_EQ(error_of("wic", nlohmann::json::array()), "task 'wic': missing field 'sentence1'");
}

}  // namespace
}  // namespace mtnlg::tasks
