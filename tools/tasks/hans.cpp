// HANS (McCoy et al., 2019): Hugging Face's `hans` has "premise", "hypothesis", "label" (0 entailment,
// 1 non-entailment) and parse/heuristic fields; the original release (TSV, converted to JSONL) has
// "sentence1", "sentence2", "gold_label". Both spellings are read.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> hans_texts(const nlohmann::json& example) {
  return {string_field(example, "hans", {"premise", "sentence1"}),
          string_field(example, "hans", {"hypothesis", "sentence2"})};
}

}  // namespace

TaskSpec hans_task() {
  return {
      "hans",
      "HANS: natural language inference examples that defeat syntactic heuristics",
      {{{"premise", "sentence1"}, FieldRole::context, true, "the premise"},
       {{"hypothesis", "sentence2"}, FieldRole::context, true, "the hypothesis"},
       {{"label", "gold_label"}, FieldRole::label, false, "0/1 (HF) or entailment/non-entailment (original)"},
       {{"heuristic"}, FieldRole::metadata, false, "lexical_overlap, subsequence or constituent"}},
      hans_texts};
}

}  // namespace mtnlg::tasks
