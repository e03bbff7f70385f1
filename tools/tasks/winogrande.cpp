// WinoGrande (Sakaguchi et al., 2020): "qID", "sentence" (with "_" for the blank), "option1", "option2",
// "answer" ("1"/"2", empty in the test split). The sentence with its blank filled by each option is what a
// contaminated web page would contain, so those two are the texts (plus the options themselves); the raw
// sentence would give n-grams that skip the blank and match nothing real.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

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

}  // namespace

TaskSpec winogrande_task() {
  return {"winogrande",
          "WinoGrande: fill the blank of a sentence with one of two options",
          {{{"sentence"}, FieldRole::context, true, "the sentence, '_' marks the blank"},
           {{"option1"}, FieldRole::candidate, true, "option 1"},
           {{"option2"}, FieldRole::candidate, true, "option 2"},
           {{"answer"}, FieldRole::label, false, "\"1\" or \"2\" (empty in the test split)"}},
          winogrande_texts};
}

}  // namespace mtnlg::tasks
