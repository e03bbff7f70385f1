// BoolQ (Clark et al., 2019): the original release has "question", "title", "answer" (true/false), "passage";
// SuperGLUE's (the one lm-evaluation-harness loads) has "question", "passage", "idx", "label" (0/1).
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> boolq_texts(const nlohmann::json& example) {
  return {string_field(example, "boolq", {"passage"}), string_field(example, "boolq", {"question"})};
}

// superglue.py BoolQ: "{passage}\nQuestion: {question}\nAnswer:", requests " yes" and " no", right when
// (ll_yes > ll_no) == label. Choices are [" no", " yes"] so that the index is the label and the first maximum
// (no) wins a tie, as the strict > does.
TaskPrompt boolq_prompt(const nlohmann::json& doc) {
  TaskPrompt p;
  p.text = string_field(doc, "boolq", {"passage"}) +
           "\nQuestion: " + string_field(doc, "boolq", {"question"}) + "\nAnswer:";
  p.choices = {" no", " yes"};
  p.gold = label_field(doc, "boolq", {"answer", "label"}) != 0 ? 1 : 0;
  p.target = p.choices[static_cast<std::size_t>(p.gold)];
  return p;
}

}  // namespace

TaskSpec boolq_task() {
  return {
      .name = "boolq",
      .description = "BoolQ: yes/no question about a Wikipedia passage",
      .display_name = "BoolQ",
      .category = "Reading comprehension",
      .fields = {{{"passage"}, FieldRole::context, true, "the passage"},
                 {{"question"}, FieldRole::context, true, "the yes/no question"},
                 {{"answer", "label"}, FieldRole::label, false, "true/false (original) or 1/0 (SuperGLUE)"}},
      .texts = boolq_texts,
      .prompt = boolq_prompt};
}

}  // namespace mtnlg::tasks
