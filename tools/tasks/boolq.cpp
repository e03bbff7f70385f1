// BoolQ (Clark et al., 2019): the original release has "question", "title", "answer" (true/false), "passage";
// SuperGLUE's (the one lm-evaluation-harness loads) has "question", "passage", "idx", "label" (0/1).
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> boolq_texts(const nlohmann::json& example) {
  return {string_field(example, "boolq", {"passage"}), string_field(example, "boolq", {"question"})};
}

}  // namespace

TaskSpec boolq_task() {
  return {"boolq",
          "BoolQ: yes/no question about a Wikipedia passage",
          {{{"passage"}, FieldRole::context, true, "the passage"},
           {{"question"}, FieldRole::context, true, "the yes/no question"},
           {{"answer", "label"}, FieldRole::label, false, "true/false (original) or 1/0 (SuperGLUE)"}},
          boolq_texts};
}

}  // namespace mtnlg::tasks
