// HANS (McCoy et al., 2019): Hugging Face's `hans` has "premise", "hypothesis", "label" (0 entailment,
// 1 non-entailment) and parse/heuristic fields; the original release (TSV, converted to JSONL) has
// "sentence1", "sentence2", "gold_label". Both spellings are read.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> hans_texts(const nlohmann::json& example) {
  return {string_field(example, "hans", {"premise", "sentence1"}),
          string_field(example, "hans", {"hypothesis", "sentence2"})};
}

// The harness of that era has no HANS task (only a promptsource stub later), so HANS takes the prompt of its
// closest relative there, glue.py RTE (two-way entailment): "{premise}\nQuestion: {hypothesis} True or
// False?\nAnswer:", choices " True" (label 0, entailment) and " False" (1, non-entailment).
TaskPrompt hans_prompt(const nlohmann::json& doc) {
  TaskPrompt p;
  p.text = string_field(doc, "hans", {"premise", "sentence1"}) +
           "\nQuestion: " + string_field(doc, "hans", {"hypothesis", "sentence2"}) +
           " True or False?\nAnswer:";
  p.choices = {" True", " False"};
  p.gold = label_field(doc, "hans", {"label", "gold_label"}, {{"entailment", 0}, {"non-entailment", 1}});
  MTNLG_CHECK(p.gold == 0 || p.gold == 1, "task 'hans': the label must be 0/1 or entailment/non-entailment");
  p.target = p.choices[static_cast<std::size_t>(p.gold)];
  return p;
}

}  // namespace

TaskSpec hans_task() {
  return {
      .name = "hans",
      .description = "HANS: natural language inference examples that defeat syntactic heuristics",
      .display_name = "HANS",
      .category = "Natural language inference",
      .fields = {{{"premise", "sentence1"}, FieldRole::context, true, "the premise"},
                 {{"hypothesis", "sentence2"}, FieldRole::context, true, "the hypothesis"},
                 {{"label", "gold_label"},
                  FieldRole::label,
                  false,
                  "0/1 (HF) or entailment/non-entailment (original)"},
                 {{"heuristic"}, FieldRole::metadata, false, "lexical_overlap, subsequence or constituent"}},
      .texts = hans_texts,
      .prompt = hans_prompt};
}

}  // namespace mtnlg::tasks
