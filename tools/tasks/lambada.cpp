// LAMBADA (Paperno et al., 2016) as OpenAI's lambada_test.jsonl and lm-evaluation-harness read it: one
// passage per line in "text"; the last word is the word to predict. Megatron's filter_ngrams.py takes the
// whole "text" as the task text, target included, and so do we: a web copy of the passage contains the target
// too.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> lambada_texts(const nlohmann::json& example) {
  return {string_field(example, "lambada", {"text"})};
}

// lambada.py: doc_to_text = text.rsplit(" ", 1)[0], doc_to_target = " " + text.rsplit(" ", 1)[1]; the request
// is (context, target), scored by its loglikelihood and whether greedy decoding produces it.
TaskPrompt lambada_prompt(const nlohmann::json& doc) {
  const std::string& text = string_field(doc, "lambada", {"text"});
  const std::size_t space = text.rfind(' ');
  MTNLG_CHECK(space != std::string::npos,
              "task 'lambada': field 'text' has no space, so no last word to predict");
  TaskPrompt p;
  p.text = text.substr(0, space);
  p.target = " " + text.substr(space + 1);
  p.choices = {p.target};
  return p;
}

}  // namespace

TaskSpec lambada_task() {
  return {.name = "lambada",
          .description = "LAMBADA: predict the last word of a passage",
          .display_name = "Lambada",
          .category = "Completion prediction",
          .fields = {{{"text"}, FieldRole::context, true, "the passage; its last word is the target"}},
          .texts = lambada_texts,
          .prompt = lambada_prompt,
          .scoring = Scoring::completion};
}

}  // namespace mtnlg::tasks
