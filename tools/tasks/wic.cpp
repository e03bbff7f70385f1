// WiC (Pilehvar and Camacho-Collados, 2019) as SuperGLUE releases it (and lm-evaluation-harness loads it):
// "word", "sentence1", "sentence2", "start1", "end1", "start2", "end2", "idx", "label" (true/false or 0/1).
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> wic_texts(const nlohmann::json& example) {
  return {string_field(example, "wic", {"sentence1"}), string_field(example, "wic", {"sentence2"}),
          string_field(example, "wic", {"word"})};
}

}  // namespace

TaskSpec wic_task() {
  return {"wic",
          "WiC: is a word used in the same sense in two sentences",
          {{{"sentence1"}, FieldRole::context, true, "first sentence"},
           {{"sentence2"}, FieldRole::context, true, "second sentence"},
           {{"word"}, FieldRole::context, true, "the word in question"},
           {{"label"}, FieldRole::label, false, "same sense or not"}},
          wic_texts};
}

}  // namespace mtnlg::tasks
