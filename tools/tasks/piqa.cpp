// PiQA (Bisk et al., 2020): "goal", "sol1", "sol2", and "label" (0/1). The original release keeps the labels
// in a separate .lst file (and the test split has none), so the label is optional here. Megatron's
// filter_ngrams.py decontaminates with the goal; the solutions are candidates, as long as many goals.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> piqa_texts(const nlohmann::json& example) {
  return {string_field(example, "piqa", {"goal"}), string_field(example, "piqa", {"sol1"}),
          string_field(example, "piqa", {"sol2"})};
}

// piqa.py + base.py MultipleChoiceTask: "Question: {goal}\nAnswer:", choices " {sol1}" and " {sol2}";
// acc_norm divides by len(sol).
TaskPrompt piqa_prompt(const nlohmann::json& doc) {
  TaskPrompt p;
  p.text = "Question: " + string_field(doc, "piqa", {"goal"}) + "\nAnswer:";
  for (const auto* name : {"sol1", "sol2"}) {
    const std::string& sol = string_field(doc, "piqa", {name});
    p.choices.push_back(" " + sol);
    p.norm_lengths.push_back(static_cast<double>(code_points(sol)));
  }
  p.gold = label_field(doc, "piqa", {"label"});
  MTNLG_CHECK(p.gold == 0 || p.gold == 1, "task 'piqa': field 'label' must be 0 or 1");
  p.target = p.choices[static_cast<std::size_t>(p.gold)];
  return p;
}

}  // namespace

TaskSpec piqa_task() {
  return {.name = "piqa",
          .description = "PiQA: choose the solution that achieves a physical goal",
          .display_name = "PiQA",
          .category = "Commonsense reasoning",
          .fields = {{{"goal"}, FieldRole::context, true, "the goal"},
                     {{"sol1"}, FieldRole::candidate, true, "solution 1"},
                     {{"sol2"}, FieldRole::candidate, true, "solution 2"},
                     {{"label"},
                      FieldRole::label,
                      false,
                      "0 or 1 (in a separate .lst file in the original release)"}},
          .texts = piqa_texts,
          .prompt = piqa_prompt};
}

}  // namespace mtnlg::tasks
