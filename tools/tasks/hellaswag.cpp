// HellaSwag (Zellers et al., 2019): "ind", "activity_label", "ctx_a", "ctx_b", "ctx" (= ctx_a + " " + ctx_b),
// "endings" (4), "label", "source_id", "split", "split_type" in both the original release and Hugging Face's.
// Contexts and endings carry WikiHow markup ("[title]", "[header]", "[step]"); lm-evaluation-harness strips
// it before prompting, and we do the same, since a web copy of the text would not have it either.
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include "mtnlg/error.hpp"

namespace mtnlg::tasks {

namespace {

// lm-evaluation-harness's hellaswag preprocess(): trim, " [title]" -> ". ", drop any "[...]", "  " -> " ".
std::string strip_markup(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
  std::string titled;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 8, " [title]") == 0) {
      titled += ". ";
      i += 7;
    } else {
      titled += text[i];
    }
  }
  std::string unbracketed;
  for (std::size_t i = 0; i < titled.size(); ++i) {
    const std::size_t close = titled[i] == '[' ? titled.find(']', i) : std::string::npos;
    if (close != std::string::npos)
      i = close;
    else
      unbracketed += titled[i];
  }
  std::string out;
  for (std::size_t i = 0; i < unbracketed.size(); ++i) {
    out += unbracketed[i];
    if (unbracketed[i] == ' ' && i + 1 < unbracketed.size() && unbracketed[i + 1] == ' ') ++i;
  }
  return out;
}

std::vector<std::string> hellaswag_texts(const nlohmann::json& example) {
  std::vector<std::string> texts;
  if (find_field(example, {"ctx"}) != nullptr)
    texts.push_back(strip_markup(string_field(example, "hellaswag", {"ctx"})));
  else
    texts.push_back(strip_markup(string_field(example, "hellaswag", {"ctx", "ctx_a"}) + " " +
                                 string_field(example, "hellaswag", {"ctx_b"})));
  std::vector<std::string> endings;
  append_string_array(example, "hellaswag", {"endings"}, endings);
  for (const auto& e : endings) texts.push_back(strip_markup(e));
  return texts;
}

// Python's str.capitalize() on ASCII: the first character upper case, the rest lower case. Bytes outside
// ASCII are left as they are (Python would also change the case of non-ASCII letters).
std::string capitalize(std::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (i == 0 && c >= 'a' && c <= 'z') out[i] = static_cast<char>(c - 'a' + 'A');
    if (i > 0 && c >= 'A' && c <= 'Z') out[i] = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// hellaswag.py + base.py MultipleChoiceTask: query = preprocess(activity_label + ": " + ctx_a + " " +
// ctx_b.capitalize()), choices " " + preprocess(ending); acc_norm divides by len(preprocessed ending).
TaskPrompt hellaswag_prompt(const nlohmann::json& doc) {
  TaskPrompt p;
  p.text = strip_markup(string_field(doc, "hellaswag", {"activity_label"}) + ": " +
                        string_field(doc, "hellaswag", {"ctx_a"}) + " " +
                        capitalize(string_field(doc, "hellaswag", {"ctx_b"})));
  std::vector<std::string> endings;
  append_string_array(doc, "hellaswag", {"endings"}, endings);
  for (const auto& e : endings) {
    const std::string ending = strip_markup(e);
    p.choices.push_back(" " + ending);
    p.norm_lengths.push_back(static_cast<double>(code_points(ending)));
  }
  p.gold = label_field(doc, "hellaswag", {"label"});
  MTNLG_CHECK(p.gold >= 0 && static_cast<std::size_t>(p.gold) < p.choices.size(),
              "task 'hellaswag': field 'label' is not the index of an ending");
  p.target = p.choices[static_cast<std::size_t>(p.gold)];
  return p;
}

}  // namespace

TaskSpec hellaswag_task() {
  return {.name = "hellaswag",
          .description = "HellaSwag: choose the most plausible continuation of an activity description",
          .display_name = "HellaSwag",
          .category = "Commonsense reasoning",
          .fields =
              {{{"ctx", "ctx_a"}, FieldRole::context, true, "the context (or its two parts ctx_a and ctx_b)"},
               {{"ctx_b"},
                FieldRole::context,
                false,
                "second part of the context (the prompt needs ctx_a and ctx_b)"},
               {{"activity_label"},
                FieldRole::metadata,
                false,
                "the activity (prefixes the prompt in evaluation)"},
               {{"endings"}, FieldRole::candidate, true, "4 endings"},
               {{"label"}, FieldRole::label, false, "index of the right ending (empty in the test split)"}},
          .texts = hellaswag_texts,
          .prompt = hellaswag_prompt};
}

}  // namespace mtnlg::tasks
