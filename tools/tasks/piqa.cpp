// PiQA (Bisk et al., 2020): "goal", "sol1", "sol2", and "label" (0/1). The original release keeps the labels
// in a separate .lst file (and the test split has none), so the label is optional here. Megatron's
// filter_ngrams.py decontaminates with the goal; the solutions are candidates, as long as many goals.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> piqa_texts(const nlohmann::json& example) {
  return {string_field(example, "piqa", {"goal"}), string_field(example, "piqa", {"sol1"}),
          string_field(example, "piqa", {"sol2"})};
}

}  // namespace

TaskSpec piqa_task() {
  return {"piqa",
          "PiQA: choose the solution that achieves a physical goal",
          {{{"goal"}, FieldRole::context, true, "the goal"},
           {{"sol1"}, FieldRole::candidate, true, "solution 1"},
           {{"sol2"}, FieldRole::candidate, true, "solution 2"},
           {{"label"}, FieldRole::label, false, "0 or 1 (in a separate .lst file in the original release)"}},
          piqa_texts};
}

}  // namespace mtnlg::tasks
