// LAMBADA (Paperno et al., 2016) as OpenAI's lambada_test.jsonl and lm-evaluation-harness read it: one
// passage per line in "text"; the last word is the word to predict. Megatron's filter_ngrams.py takes the
// whole "text" as the task text, target included, and so do we: a web copy of the passage contains the target
// too.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> lambada_texts(const nlohmann::json& example) {
  return {string_field(example, "lambada", {"text"})};
}

}  // namespace

TaskSpec lambada_task() {
  return {"lambada",
          "LAMBADA: predict the last word of a passage",
          {{{"text"}, FieldRole::context, true, "the passage; its last word is the target"}},
          lambada_texts};
}

}  // namespace mtnlg::tasks
