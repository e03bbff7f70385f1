// ANLI (Nie et al., 2020): Hugging Face's `anli` (which lm-evaluation-harness loads) has "uid", "premise",
// "hypothesis", "label" (0/1/2), "reason"; the original release names the premise "context" and labels
// "e"/"n"/"c". Both are read.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> anli_texts(const nlohmann::json& example) {
  return {string_field(example, "anli", {"premise", "context"}),
          string_field(example, "anli", {"hypothesis"})};
}

}  // namespace

TaskSpec anli_task() {
  return {
      "anli",
      "ANLI: adversarial natural language inference (entailment, neutral, contradiction)",
      {{{"premise", "context"}, FieldRole::context, true, "the premise ('context' in the original release)"},
       {{"hypothesis"}, FieldRole::context, true, "the hypothesis"},
       {{"label"}, FieldRole::label, false, "0/1/2 (HF) or e/n/c (original)"}},
      anli_texts};
}

}  // namespace mtnlg::tasks
