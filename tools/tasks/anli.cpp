// ANLI (Nie et al., 2020): Hugging Face's `anli` (which lm-evaluation-harness loads) has "uid", "premise",
// "hypothesis", "label" (0/1/2), "reason"; the original release names the premise "context" and labels
// "e"/"n"/"c". Both are read.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> anli_texts(const nlohmann::json& example) {
  return {string_field(example, "anli", {"premise", "context"}),
          string_field(example, "anli", {"hypothesis"})};
}

// anli.py: "{premise}\nQuestion: {hypothesis} True, False, or Neither?\nAnswer:", choices " True", "
// Neither", " False" (label 0 entailment, 1 neutral, 2 contradiction; the original's e/n/c likewise).
TaskPrompt anli_prompt(const nlohmann::json& doc) {
  TaskPrompt p;
  p.text = string_field(doc, "anli", {"premise", "context"}) +
           "\nQuestion: " + string_field(doc, "anli", {"hypothesis"}) + " True, False, or Neither?\nAnswer:";
  p.choices = {" True", " Neither", " False"};
  p.gold = label_field(doc, "anli", {"label"}, {{"e", 0}, {"n", 1}, {"c", 2}});
  MTNLG_CHECK(p.gold >= 0 && p.gold <= 2, "task 'anli': field 'label' must be 0, 1 or 2 (or e, n, c)");
  p.target = p.choices[static_cast<std::size_t>(p.gold)];
  return p;
}

}  // namespace

TaskSpec anli_task() {
  return {.name = "anli",
          .description = "ANLI: adversarial natural language inference (entailment, neutral, contradiction)",
          .display_name = "ANLI-R2",
          .category = "Natural language inference",
          .fields = {{{"premise", "context"},
                      FieldRole::context,
                      true,
                      "the premise ('context' in the original release)"},
                     {{"hypothesis"}, FieldRole::context, true, "the hypothesis"},
                     {{"label"}, FieldRole::label, false, "0/1/2 (HF) or e/n/c (original)"}},
          .texts = anli_texts,
          .prompt = anli_prompt};
}

}  // namespace mtnlg::tasks
