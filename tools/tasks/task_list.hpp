#pragma once
// Each task's spec, defined in its own file (lambada.cpp, ...) and collected by task_registry.cpp.
#include "tasks/task_spec.hpp"

namespace mtnlg::tasks {

TaskSpec lambada_task();
TaskSpec boolq_task();
TaskSpec race_task();
TaskSpec piqa_task();
TaskSpec hellaswag_task();
TaskSpec winogrande_task();
TaskSpec anli_task();
TaskSpec hans_task();
TaskSpec wic_task();

}  // namespace mtnlg::tasks
