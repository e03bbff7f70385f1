// RACE (Lai et al., 2017), the high-school part RACE-h that MT-NLG reports. Two layouts are read:
//  - the original release, one article per line: "article", "questions" (list), "options" (list of 4-lists),
//    "answers" (list of letters), "id";
//  - Hugging Face's `race` 'high' config, one question per line: "example_id", "article", "question",
//    "options" (4 strings), "answer" (a letter).
// The article, every question and every option are task texts (options are short and mostly fall under the
// minimum n-gram length, but a long option is as much a leak as the question).
#include "tasks/task_fields.hpp"
#include "tasks/task_list.hpp"

#include <map>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::tasks {

namespace {

std::vector<std::string> race_texts(const nlohmann::json& example) {
  std::vector<std::string> texts = {string_field(example, "race", {"article"})};
  if (find_field(example, {"questions"}) != nullptr) {  // the original release: lists per article
    append_string_array(example, "race", {"questions"}, texts);
    const nlohmann::json* options = find_field(example, {"options"});
    if (options == nullptr) missing_field("race", {"options"});
    MTNLG_CHECK(options->is_array(), "task 'race': field 'options' is not a list");
    for (const auto& per_question : *options) {
      MTNLG_CHECK(per_question.is_array(),
                  "task 'race': field 'options' must hold one list of options per question");
      for (const auto& option : per_question) {
        MTNLG_CHECK(option.is_string(), "task 'race': field 'options' holds an option that is not a string");
        texts.push_back(option.get<std::string>());
      }
    }
    return texts;
  }
  texts.push_back(string_field(example, "race", {"question", "questions"}));
  append_string_array(example, "race", {"options"}, texts);
  return texts;
}

// A document in the original layout: the article and its questions, options and answer letters as lists.
struct Problem {
  const std::string* question;
  std::vector<std::string> options;
  int answer;
};

std::vector<Problem> problems_of(const nlohmann::json& doc) {
  const nlohmann::json* questions = find_field(doc, {"questions"});
  const nlohmann::json* options = find_field(doc, {"options"});
  const nlohmann::json* answers = find_field(doc, {"answers"});
  if (questions == nullptr) missing_field("race", {"questions", "question"});
  if (options == nullptr) missing_field("race", {"options"});
  if (answers == nullptr) missing_field("race", {"answers", "answer"});
  MTNLG_CHECK(questions->is_array() && options->is_array() && answers->is_array() && !questions->empty() &&
                  questions->size() == options->size() && questions->size() == answers->size(),
              "task 'race': 'questions', 'options' and 'answers' must be lists of the same, nonzero length");
  std::vector<Problem> problems;
  for (std::size_t i = 0; i < questions->size(); ++i) {
    const auto& q = (*questions)[i];
    const auto& a = (*answers)[i];
    MTNLG_CHECK(q.is_string(), "task 'race': field 'questions' holds a question that is not a string");
    Problem problem{&q.get_ref<const std::string&>(), {}, -1};
    MTNLG_CHECK((*options)[i].is_array(), "task 'race': field 'options' must hold one list per question");
    for (const auto& option : (*options)[i]) {
      MTNLG_CHECK(option.is_string(), "task 'race': field 'options' holds an option that is not a string");
      problem.options.push_back(option.get<std::string>());
    }
    MTNLG_CHECK(a.is_string() && a.get_ref<const std::string&>().size() == 1,
                "task 'race': an answer must be a letter A-D");
    problem.answer = a.get_ref<const std::string&>()[0] - 'A';
    MTNLG_CHECK(problem.answer >= 0 && static_cast<std::size_t>(problem.answer) < problem.options.size(),
                str("task 'race': answer '", a.get<std::string>(), "' names no option"));
    problems.push_back(std::move(problem));
  }
  return problems;
}

// race.py: one document per article, its earlier questions shown answered, the last one asked:
// "Article: {article}\n\n" + per earlier problem either (a question ending in "  _  .") its last five
// characters + answer + "\n", or "Question: {q}\nAnswer: {answer}\n"; then the last question. The choices are
// " " + each option of the last question. (The last-five-characters branch is the harness's, kept as is.)
TaskPrompt race_prompt(const nlohmann::json& doc) {
  const std::vector<Problem> problems = problems_of(doc);
  auto answer_of = [](const Problem& p) { return p.options[static_cast<std::size_t>(p.answer)]; };
  TaskPrompt p;
  p.text = "Article: " + string_field(doc, "race", {"article"}) + "\n\n";
  for (std::size_t i = 0; i + 1 < problems.size(); ++i) {
    const std::string& q = *problems[i].question;
    if (q.size() >= 6 && q.compare(q.size() - 6, 6, "  _  .") == 0)
      p.text += q.substr(q.size() - 5) + answer_of(problems[i]) + "\n";
    else
      p.text += "Question: " + q + "\nAnswer: " + answer_of(problems[i]) + "\n";
  }
  const Problem& last = problems.back();
  p.text += *last.question;
  for (const auto& option : last.options) p.choices.push_back(" " + option);
  p.gold = last.answer;
  p.target = " " + answer_of(last);
  return p;
}

// race.py's _collate_data: Hugging Face's layout has one question per line; the harness groups the lines by
// article (in order of first appearance) into one document per article. Lines in the original layout are
// documents already.
std::vector<std::pair<nlohmann::json, std::size_t>> race_documents(
    const std::vector<nlohmann::json>& examples) {
  std::vector<std::pair<nlohmann::json, std::size_t>> docs;
  std::map<std::string, std::size_t> by_article;  // article -> index in docs
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const nlohmann::json& e = examples[i];
    if (find_field(e, {"questions"}) != nullptr || find_field(e, {"question"}) == nullptr) {
      docs.emplace_back(e, i);  // the original layout (or a line whose missing field problems_of names)
      continue;
    }
    const std::string& article = string_field(e, "race", {"article"});
    const std::string& question = string_field(e, "race", {"question"});
    const nlohmann::json* options = find_field(e, {"options"});
    if (options == nullptr) missing_field("race", {"options"});
    const nlohmann::json* answer = find_field(e, {"answer"});
    if (answer == nullptr) missing_field("race", {"answer", "answers"});
    auto [it, added] = by_article.try_emplace(article, docs.size());
    if (added)
      docs.emplace_back(nlohmann::json{{"article", article},
                                       {"questions", nlohmann::json::array()},
                                       {"options", nlohmann::json::array()},
                                       {"answers", nlohmann::json::array()}},
                        i);
    nlohmann::json& doc = docs[it->second].first;
    doc["questions"].push_back(question);
    doc["options"].push_back(*options);
    doc["answers"].push_back(*answer);
  }
  return docs;
}

}  // namespace

TaskSpec race_task() {
  return {.name = "race",
          .description = "RACE-h: multiple-choice questions on an English exam article",
          .display_name = "RACE-h",
          .category = "Reading comprehension",
          .fields = {{{"article"}, FieldRole::context, true, "the article"},
                     {{"question", "questions"},
                      FieldRole::context,
                      true,
                      "the question (HF) or list of questions (original)"},
                     {{"options"},
                      FieldRole::candidate,
                      true,
                      "4 options (HF) or one list of 4 per question (original)"},
                     {{"answer", "answers"},
                      FieldRole::label,
                      false,
                      "the letter A-D (HF) or list of letters (original)"}},
          .texts = race_texts,
          .prompt = race_prompt,
          .documents = race_documents};
}

}  // namespace mtnlg::tasks
