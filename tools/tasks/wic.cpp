// WiC (Pilehvar and Camacho-Collados, 2019) as SuperGLUE releases it (and lm-evaluation-harness loads it):
// "word", "sentence1", "sentence2", "start1", "end1", "start2", "end2", "idx", "label" (true/false or 0/1).
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> wic_texts(const nlohmann::json& example) {
  return {string_field(example, "wic", {"sentence1"}), string_field(example, "wic", {"sentence2"}),
          string_field(example, "wic", {"word"})};
}

// superglue.py WordsInContext: the word as it appears in sentence 1 (sentence1[start1:end1], in characters),
// "Sentence 1: {s1}\nSentence 2: {s2}\nQuestion: Is the word '{w}' used in the same way in the two sentences
// above?\nAnswer:", requests " yes"/" no", right when (ll_yes > ll_no) == label; choices [" no", " yes"] as
// for BoolQ.
TaskPrompt wic_prompt(const nlohmann::json& doc) {
  const std::string& sentence1 = string_field(doc, "wic", {"sentence1"});
  const long long start = int_field(doc, "wic", {"start1"}), end = int_field(doc, "wic", {"end1"});
  MTNLG_CHECK(start >= 0 && end >= start, "task 'wic': start1 and end1 must satisfy 0 <= start1 <= end1");
  TaskPrompt p;
  p.text = "Sentence 1: " + sentence1 + "\nSentence 2: " + string_field(doc, "wic", {"sentence2"}) +
           "\nQuestion: Is the word '" +
           code_point_slice(sentence1, static_cast<std::size_t>(start), static_cast<std::size_t>(end)) +
           "' used in the same way in the two sentences above?\nAnswer:";
  p.choices = {" no", " yes"};
  p.gold = label_field(doc, "wic", {"label"}) != 0 ? 1 : 0;
  p.target = p.choices[static_cast<std::size_t>(p.gold)];
  return p;
}

}  // namespace

TaskSpec wic_task() {
  return {.name = "wic",
          .description = "WiC: is a word used in the same sense in two sentences",
          .display_name = "WiC",
          .category = "Word sense disambiguation",
          .fields = {{{"sentence1"}, FieldRole::context, true, "first sentence"},
                     {{"sentence2"}, FieldRole::context, true, "second sentence"},
                     {{"word"}, FieldRole::context, true, "the word in question"},
                     {{"start1", "end1"},
                      FieldRole::metadata,
                      false,
                      "the word's span in sentence 1 (the prompt's word)"},
                     {{"label"}, FieldRole::label, false, "same sense or not"}},
          .texts = wic_texts,
          .prompt = wic_prompt};
}

}  // namespace mtnlg::tasks
