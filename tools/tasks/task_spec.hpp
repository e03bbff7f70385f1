#pragma once
// The evaluation tasks of MT-NLG (LAMBADA, BoolQ, RACE-h, PiQA, HellaSwag, WinoGrande, ANLI, HANS, WiC) as
// their public JSONL releases lay them out. This is the one place that knows those field names:
// decontamination asks a task for the texts of one example; evaluation asks the same spec for its prompt, so
// TaskSpec grows by new members (function pointers) rather than by new switch statements elsewhere.
#include <string>
#include <string_view>
#include <utility>
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

// One evaluated document as lm-evaluation-harness builds it (README.md names the harness files and commits):
// the prompt of the document alone (doc_to_text), the continuations whose loglikelihoods are compared
// (construct_requests) and the correct one's text for when the document is a few-shot example
// (doc_to_target).
struct TaskPrompt {
  std::string text;  // doc_to_text
  // The continuations scored, each with a leading space where the harness puts one (" yes", " Paris").
  std::vector<std::string> choices;
  // Per choice, a text replacing `text` as the last part of the context (WinoGrande's partial scoring: the
  // sentence up to the blank filled with that option; the continuation is the same for both). Empty: `text`.
  std::vector<std::string> choice_texts;
  std::string target;  // doc_to_target: appended to `text` when the document is a few-shot example
  int gold = 0;        // index into choices of the right one
  // acc_norm's divisor per choice: the choice's length in characters (code points), as the harness's
  // MultipleChoiceTask divides by len(choice) of the choice without its leading space. Empty: no acc_norm.
  std::vector<double> norm_lengths;
};

// How a task turns loglikelihoods into metrics.
enum class Scoring {
  multiple_choice,  // acc: the argmax of the choices' loglikelihoods is gold (first maximum on ties)
  completion,       // one choice; acc: greedy decoding gives it (LAMBADA), ppl: exp(-mean loglikelihood)
};

struct TaskSpec {
  std::string name;  // lower case, as on the command line: "piqa"
  std::string description;
  std::string display_name;  // as in MT-NLG's Figure 3: "PiQA", "ANLI-R2"
  std::string category;      // Figure 3's category: "Commonsense reasoning"
  std::vector<TaskField> fields;
  // The texts of one example that matter for decontamination: the context (passage, question, goal, ...) and
  // each candidate answer, one string each. Throws mtnlg::Error "task 'NAME': missing field 'FIELD'" (the
  // caller adds FILE:LINE) when a required field is absent or has the wrong type.
  std::vector<std::string> (*texts)(const nlohmann::json& example);
  // The prompt of one document (see TaskPrompt). Needs the label (a few-shot example shows its answer; the
  // evaluated document is scored against it); throws mtnlg::Error naming the task and field like texts().
  TaskPrompt (*prompt)(const nlohmann::json& document);
  Scoring scoring = Scoring::multiple_choice;
  // The task's documents from a file's examples, in order, each with the index of its first example. Null:
  // one document per example. RACE in Hugging Face's layout (one question per line) is grouped by article, as
  // the harness does, so that each document is an article with its questions.
  std::vector<std::pair<nlohmann::json, std::size_t>> (*documents)(
      const std::vector<nlohmann::json>& examples) = nullptr;
};

// All tasks, in MT-NLG's table order.
const std::vector<TaskSpec>& all_tasks();
// The task of that name; throws mtnlg::Error listing the known tasks otherwise.
const TaskSpec& task(std::string_view name);
// "lambada, boolq, ..." for messages.
std::string task_names();

}  // namespace mtnlg::tasks
