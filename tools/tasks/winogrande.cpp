// WinoGrande (Sakaguchi et al., 2020): "qID", "sentence" (with "_" for the blank), "option1", "option2",
// "answer" ("1"/"2", empty in the test split). The sentence with its blank filled by each option is what a
// contaminated web page would contain, so those two are the texts (plus the options themselves); the raw
// sentence would give n-grams that skip the blank and match nothing real.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> winogrande_texts(const nlohmann::json& example) {
  const std::string& sentence = string_field(example, "winogrande", {"sentence"});
  const std::string& option1 = string_field(example, "winogrande", {"option1"});
  const std::string& option2 = string_field(example, "winogrande", {"option2"});
  const std::size_t blank = sentence.find('_');
  if (blank == std::string::npos) return {sentence, option1, option2};
  auto filled = [&](const std::string& option) {
    return sentence.substr(0, blank) + option + sentence.substr(blank + 1);
  };
  return {filled(option1), filled(option2), option1, option2};
}

// winogrande.py, partial scoring (Trinh & Le 2018): the context is the sentence up to the blank filled with
// an option, the continuation the rest of the sentence (" " + stripped), the same for both options; the
// option whose context makes that rest more likely wins. doc_to_text is the context with the right option.
TaskPrompt winogrande_prompt(const nlohmann::json& doc) {
  const std::string& sentence = string_field(doc, "winogrande", {"sentence"});
  const std::size_t blank = sentence.find('_');
  MTNLG_CHECK(blank != std::string::npos, "task 'winogrande': field 'sentence' has no '_' blank");
  const int answer = label_field(doc, "winogrande", {"answer"});
  MTNLG_CHECK(answer == 1 || answer == 2, "task 'winogrande': field 'answer' must be \"1\" or \"2\"");
  TaskPrompt p;
  for (const auto* name : {"option1", "option2"})
    p.choice_texts.push_back(sentence.substr(0, blank) + string_field(doc, "winogrande", {name}));
  p.gold = answer - 1;
  p.text = p.choice_texts[static_cast<std::size_t>(p.gold)];
  p.target = " " + std::string(strip_ascii(std::string_view(sentence).substr(blank + 1)));
  p.choices = {p.target, p.target};
  return p;
}

}  // namespace

TaskSpec winogrande_task() {
  return {.name = "winogrande",
          .description = "WinoGrande: fill the blank of a sentence with one of two options",
          .display_name = "WinoGrande",
          .category = "Commonsense reasoning",
          .fields = {{{"sentence"}, FieldRole::context, true, "the sentence, '_' marks the blank"},
                     {{"option1"}, FieldRole::candidate, true, "option 1"},
                     {{"option2"}, FieldRole::candidate, true, "option 2"},
                     {{"answer"}, FieldRole::label, false, "\"1\" or \"2\" (empty in the test split)"}},
          .texts = winogrande_texts,
          .prompt = winogrande_prompt};
}

}  // namespace mtnlg::tasks
