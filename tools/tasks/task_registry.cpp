#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "tasks/task_list.hpp"

namespace mtnlg::tasks {

const std::vector<TaskSpec>& all_tasks() {
  // The order of MT-NLG's results tables (completion, reading comprehension, commonsense, NLI, word sense).
  static const std::vector<TaskSpec> tasks = {lambada_task(), boolq_task(),     race_task(),
                                              piqa_task(),    hellaswag_task(), winogrande_task(),
                                              anli_task(),    hans_task(),      wic_task()};
  return tasks;
}

std::string task_names() {
  std::string names;
  for (const auto& t : all_tasks()) names += names.empty() ? t.name : ", " + t.name;
  return names;
}

const TaskSpec& task(std::string_view name) {
  for (const auto& t : all_tasks())
    if (t.name == name) return t;
  fail(str("unknown task '", name, "' (known tasks: ", task_names(), ")"));
}

}  // namespace mtnlg::tasks
