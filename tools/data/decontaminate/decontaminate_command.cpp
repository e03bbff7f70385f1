#include "decontaminate/decontaminate_command.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "decontaminate/ngram_table.hpp"
#include "decontaminate/words.hpp"
#include "io/atomic_output_file.hpp"
#include "io/json_lines_reader.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "tasks/task_spec.hpp"

namespace mtnlg::data::decontaminate {

namespace {

unsigned task_index(const std::string& name) {
  const auto& all = tasks::all_tasks();
  const tasks::TaskSpec& spec = tasks::task(name);  // fails listing the known tasks
  return static_cast<unsigned>(&spec - all.data());
}

void add_task_file(const DecontaminateOptions& options, const TaskFile& file, NgramTable& table,
                   TaskSummary& summary) {
  const unsigned index = task_index(file.task);
  const tasks::TaskSpec& spec = tasks::all_tasks()[index];
  JsonLinesReader lines(file.path);
  std::string line;
  nlohmann::json example;
  while (lines.next_document(line, example, "")) {
    std::vector<std::string> texts;
    try {
      texts = spec.texts(example);
    } catch (const Error& e) {
      fail(str(lines.where(), ": ", e.what()));
    }
    ++summary.examples;
    for (const auto& text : texts) {
      ++summary.texts;
      const std::size_t words = table.add_text(text, index);
      if (words < options.min_ngram)
        ++summary.short_texts;
      else if (words < options.ngram)
        ++summary.whole_texts;
    }
  }
}

std::string task_list(std::uint32_t tasks_mask) {
  std::string names;
  const auto& all = tasks::all_tasks();
  for (std::size_t t = 0; t < all.size(); ++t)
    if (tasks_mask & (1u << t)) names += names.empty() ? all[t].name : "+" + all[t].name;
  return names;
}

// One report line: what was matched in the document at `line` and what became of it.
nlohmann::json report_line(std::size_t line, const Cut& c, const NgramTable& table,
                           const DecontaminateOptions& options) {
  nlohmann::json removed = nlohmann::json::array();
  for (const Removal& r : c.removals) {
    const TaskNgram& ngram = table.ngrams()[r.first_ngram];
    removed.push_back({{"task", task_list(ngram.tasks)},
                       {"ngram", ngram.words},
                       {"match", {r.match_begin, r.match_end}},
                       {"removed", {r.begin, r.end}},
                       {"matches", r.matches}});
  }
  nlohmann::json pieces = nlohmann::json::array();
  std::size_t k = 0;
  for (const Piece& p : c.pieces) {
    nlohmann::json piece = {{"range", {p.begin, p.end}}, {"kept", p.kept}};
    if (p.kept)
      piece["piece"] = k++;
    else if (!c.too_many_splits)
      piece["why"] = str("shorter than ", options.cut.min_piece_chars, " characters");
    pieces.push_back(std::move(piece));
  }
  std::string action = "split", reason = "task n-grams removed";
  if (c.too_many_splits) {
    action = "dropped";
    reason = str("too many splits (", c.removals.size(), " > --max-splits ", options.cut.max_splits, ")");
  } else if (c.kept() == 0) {
    action = "dropped";
    reason = c.pieces.empty() ? "nothing left after removal"
                              : str("every piece shorter than ", options.cut.min_piece_chars, " characters");
  }
  return {{"line", line}, {"action", action}, {"reason", reason}, {"removed", removed}, {"pieces", pieces}};
}

}  // namespace

TaskFile parse_task_argument(const std::string& argument) {
  const std::size_t eq = argument.find('=');
  MTNLG_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < argument.size(),
              str("--task takes NAME=FILE.jsonl, got '", argument, "' (tasks: ", tasks::task_names(), ")"));
  return {argument.substr(0, eq), argument.substr(eq + 1)};
}

DecontaminateSummary decontaminate(const DecontaminateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  MTNLG_CHECK(!options.tasks.empty(), "give at least one --task NAME=FILE.jsonl");
  MTNLG_CHECK(options.max_ngram_docs >= 1, "--max-ngram-docs must be at least 1");
  MTNLG_CHECK(options.output != options.input, "--output must not be --input");
  MTNLG_CHECK(options.report.empty() || (options.report != options.output && options.report != options.input),
              "--report must differ from --input and --output");
  static_assert(sizeof(TaskNgram::tasks) * 8 >= 9, "a bit per task");
  MTNLG_CHECK(tasks::all_tasks().size() <= sizeof(TaskNgram::tasks) * 8, "too many tasks for the task mask");

  DecontaminateSummary summary;
  NgramTable table(options.ngram, options.min_ngram);
  for (const TaskFile& file : options.tasks) {
    summary.tasks.push_back({file.task, file.path});
    add_task_file(options, file, table, summary.tasks.back());
  }
  summary.ngrams = table.ngrams().size();
  const auto scan_start = std::chrono::steady_clock::now();

  // Pass 1: in how many documents each task n-gram occurs. A document can only be cut if one of its n-grams
  // ends below max_ngram_docs, i.e. it is among that n-gram's first max_ngram_docs documents: those documents
  // are remembered (at most max_ngram_docs per n-gram, so memory follows the task table, not the corpus) and
  // every other line is copied by pass 2 without parsing it again.
  std::vector<Word> words;
  std::vector<Match> matches;
  std::vector<std::uint64_t> candidates;
  std::string line;
  BadLines bad_lines(options.bad_lines);
  std::vector<std::size_t> skipped_lines;  // pass 2 leaves them out too
  {
    JsonLinesReader lines(options.input, &bad_lines);
    std::uint64_t document = 0;
    nlohmann::json doc;
    while (lines.next_document(line, doc, options.json_key)) {
      summary.bytes += line.size() + 1;
      const std::string& text = lines.text(doc, options.json_key);
      split_words(text, words);
      table.find(text, words, matches);
      bool candidate = false;
      for (const Match& m : matches) {
        const TaskNgram& ngram = table.ngrams()[m.ngram];
        candidate =
            candidate || (ngram.last_document != document && ngram.documents < options.max_ngram_docs);
      }
      table.count_documents(matches, document);
      if (candidate) candidates.push_back(document);
      ++document;
    }
    summary.documents_in = document;
    skipped_lines = lines.skipped_lines();
    summary.bad_lines_skipped = skipped_lines.size();
  }
  std::vector<bool> active(table.ngrams().size());
  for (std::size_t id = 0; id < active.size(); ++id) {
    const TaskNgram& ngram = table.ngrams()[id];
    active[id] = ngram.documents < options.max_ngram_docs;
    summary.ngrams_ignored += active[id] ? 0 : 1;
    for (TaskSummary& task : summary.tasks) {
      if (!(ngram.tasks & (1u << task_index(task.task)))) continue;
      ++task.ngrams;
      task.ngrams_matched += ngram.documents > 0 ? 1 : 0;
      task.ngrams_ignored += active[id] ? 0 : 1;
    }
  }

  // Pass 2: copy, cut, report.
  AtomicOutputFile output(options.output);
  std::unique_ptr<AtomicOutputFile> report;
  if (!options.report.empty()) report = std::make_unique<AtomicOutputFile>(options.report);
  JsonLinesReader lines(options.input);
  std::uint64_t document = 0;
  std::size_t next_candidate = 0, next_skipped = 0;
  while (lines.next(line)) {
    if (next_skipped < skipped_lines.size() && skipped_lines[next_skipped] == lines.line_number()) {
      ++next_skipped;
      continue;
    }
    const bool candidate = next_candidate < candidates.size() && candidates[next_candidate] == document;
    ++document;
    if (!candidate) {
      output.stream() << line << '\n';
      ++summary.documents_untouched;
      continue;
    }
    ++next_candidate;
    nlohmann::json doc = nlohmann::json::parse(line);  // pass 1 found it a document
    const std::string text = lines.text(doc, options.json_key);
    split_words(text, words);
    table.find(text, words, matches);
    std::erase_if(matches, [&](const Match& m) { return !active[m.ngram]; });
    if (matches.empty()) {
      output.stream() << line << '\n';
      ++summary.documents_untouched;
      continue;
    }
    const Cut c = cut(text, matches, options.cut);
    if (report) report->stream() << report_line(lines.line_number(), c, table, options).dump() << '\n';
    std::size_t k = 0;
    for (const Piece& p : c.pieces) {
      if (!p.kept) {
        summary.pieces_dropped += c.too_many_splits ? 0 : 1;
        continue;
      }
      doc[options.json_key] = text.substr(p.begin, p.end - p.begin);
      doc["piece"] = k++;
      output.stream() << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
    summary.pieces_kept += k;
    if (c.too_many_splits)
      ++summary.documents_dropped_splits;
    else if (k == 0)
      ++summary.documents_dropped_short;
    else
      ++summary.documents_split;
  }
  summary.documents_out = summary.documents_untouched + summary.pieces_kept;
  output.commit();
  if (report) report->commit();
  const auto now = std::chrono::steady_clock::now();
  summary.seconds = std::chrono::duration<double>(now - start).count();
  summary.scan_seconds = std::chrono::duration<double>(now - scan_start).count();
  return summary;
}

}  // namespace mtnlg::data::decontaminate
