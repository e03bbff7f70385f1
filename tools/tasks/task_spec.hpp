#pragma once
// The evaluation tasks of MT-NLG (LAMBADA, BoolQ, RACE-h, PiQA, HellaSwag, WinoGrande, ANLI, HANS, WiC) as
// their public JSONL releases lay them out. This is the one place that knows those field names:
// decontamination asks a task for the texts of one example; evaluation will ask the same spec for its prompt,
// so TaskSpec grows by new members (function pointers) rather than by new switch statements elsewhere.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mtnlg::tasks {

// What a field is for. Decontamination reads only context and candidate fields; labels matter to evaluation.
enum class FieldRole { context, candidate, label, metadata };

struct TaskField {
  std::vector<std::string> names;  // the accepted spellings, in the order they are tried (releases differ)
  FieldRole role;
  bool required;     // texts() fails without it; labels are not required (e.g. PiQA's test split has none)
  std::string what;  // one line for --help and the README
};

struct TaskSpec {
  std::string name;  // lower case, as on the command line: "piqa"
  std::string description;
  std::vector<TaskField> fields;
  // The texts of one example that matter for decontamination: the context (passage, question, goal, ...) and
  // each candidate answer, one string each. Throws mtnlg::Error "task 'NAME': missing field 'FIELD'" (the
  // caller adds FILE:LINE) when a required field is absent or has the wrong type.
  std::vector<std::string> (*texts)(const nlohmann::json& example);
};

// All tasks, in MT-NLG's table order.
const std::vector<TaskSpec>& all_tasks();
// The task of that name; throws mtnlg::Error listing the known tasks otherwise.
const TaskSpec& task(std::string_view name);
// "lambada, boolq, ..." for messages.
std::string task_names();

}  // namespace mtnlg::tasks
