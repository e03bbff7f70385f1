#pragma once
// From a task file to the (context, continuation) strings lm-evaluation-harness would send to the model, with
// no model involved: reading the JSONL into the task's documents, drawing few-shot examples, and composing
// the context (tools/tasks/README.md documents each rule and where in the harness it comes from).
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/task_spec.hpp"

namespace mtnlg::host::eval {

struct TaskDocument {
  nlohmann::json doc;        // as the task reads it (RACE's questions grouped by article)
  std::size_t line = 0;      // 1-based line of the file where the document starts
  tasks::TaskPrompt prompt;  // spec.prompt(doc)
};

// The task's documents in `file` (JSONL, blank lines skipped), each with its prompt. Errors name FILE:LINE
// (not JSON, not an object, a field the task needs missing or wrong) or say that the file has no documents.
std::vector<TaskDocument> load_task_documents(const tasks::TaskSpec& spec, const std::filesystem::path& file);

// One loglikelihood request: the model scores `continuation` after `context`.
struct Request {
  std::string context;
  std::string continuation;
};

// base.py fewshot_context: each few-shot document's text + target, joined with "\n\n", then "\n\n" and the
// evaluated document's text. Per choice the request is (context, choice), except where the task gives a
// per-choice text (WinoGrande): then winogrande.py's append_context replaces the context's last "\n\n"-part
// with that text.
std::vector<Request> build_requests(const tasks::TaskPrompt& prompt,
                                    const std::vector<const tasks::TaskPrompt*>& shots);

// winogrande.py append_context: ctx.split("\n\n"), drop the last part, join again and append `part` after
// "\n\n" (or `part` alone when nothing is left). Python's split is left to right without overlaps.
std::string replace_last_part(const std::string& context, const std::string& part);

// The few-shot documents for one evaluated document, as indices into `pool`: base.py draws K + 1 with
// rnd.sample and drops the evaluated document if it is among them (comparing whole documents), keeping the
// first K. `rng` is one stream for the whole run, advanced document after document as the harness's `rnd`.
// Fails (naming `pool_file`) when fewer than K other documents remain.
std::vector<std::size_t> draw_fewshot(const std::vector<TaskDocument>& pool, const nlohmann::json& evaluated,
                                      std::int64_t k, std::mt19937_64& rng,
                                      const std::filesystem::path& pool_file);

}  // namespace mtnlg::host::eval
