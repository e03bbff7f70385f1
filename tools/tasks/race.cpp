// RACE (Lai et al., 2017), the high-school part RACE-h that MT-NLG reports. Two layouts are read:
//  - the original release, one article per line: "article", "questions" (list), "options" (list of 4-lists),
//    "answers" (list of letters), "id";
//  - Hugging Face's `race` 'high' config, one question per line: "example_id", "article", "question",
//    "options" (4 strings), "answer" (a letter).
// The article, every question and every option are task texts (options are short and mostly fall under the
// minimum n-gram length, but a long option is as much a leak as the question).
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> race_texts(const nlohmann::json& example) {
  std::vector<std::string> texts = {string_field(example, "race", {"article"})};
  if (find_field(example, {"questions"}) != nullptr) {  // the original release: lists per article
    append_string_array(example, "race", {"questions"}, texts);
    const nlohmann::json* options = find_field(example, {"options"});
    if (options == nullptr) missing_field("race", {"options"});
    MTNLG_CHECK(options->is_array(), "task 'race': field 'options' is not a list");
    for (const auto& per_question : *options) {
      MTNLG_CHECK(per_question.is_array(),
                  "task 'race': field 'options' must hold one list of options per question");
      for (const auto& option : per_question) {
        MTNLG_CHECK(option.is_string(), "task 'race': field 'options' holds an option that is not a string");
        texts.push_back(option.get<std::string>());
      }
    }
    return texts;
  }
  texts.push_back(string_field(example, "race", {"question", "questions"}));
  append_string_array(example, "race", {"options"}, texts);
  return texts;
}

}  // namespace

TaskSpec race_task() {
  return {
      "race",
      "RACE-h: multiple-choice questions on an English exam article",
      {{{"article"}, FieldRole::context, true, "the article"},
       {{"question", "questions"},
        FieldRole::context,
        true,
        "the question (HF) or list of questions (original)"},
       {{"options"}, FieldRole::candidate, true, "4 options (HF) or one list of 4 per question (original)"},
       {{"answer", "answers"}, FieldRole::label, false, "the letter A-D (HF) or list of letters (original)"}},
      race_texts};
}

}  // namespace mtnlg::tasks
