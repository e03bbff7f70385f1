#include "score_documents.hpp"

#include <cmath>
#include <memory>

#include "io/atomic_output_file.hpp"
#include "io/json_lines_reader.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "numpy_pareto.hpp"

namespace mtnlg::data::quality {

std::size_t score_documents(const QualityModel& model, const std::filesystem::path& input,
                            const std::filesystem::path& output, const std::string& key,
                            BadLines* bad_lines) {
  JsonLinesReader reader(input, bad_lines);
  AtomicOutputFile out(output);
  std::size_t n = 0;
  std::string line;
  nlohmann::ordered_json doc;  // key order kept in the rewritten document
  while (reader.next_document(line, doc, key)) {
    const double score = model.score(reader.text(doc, key));
    doc.erase("quality_score");  // so that rescoring moves it to the end rather than keeping a stale place
    doc["quality_score"] = score;
    out.stream() << doc.dump() << '\n';
    ++n;
  }
  MTNLG_CHECK(n > 0, str(input.string(), " has no documents"));
  out.commit();
  return n;
}

FilterReport filter_documents(const QualityModel& model, const std::filesystem::path& input,
                              const std::filesystem::path& output, const FilterOptions& options,
                              BadLines* bad_lines) {
  if (options.rule == FilterRule::pareto)
    MTNLG_CHECK(options.alpha > 0 && std::isfinite(options.alpha),
                str("--alpha must be positive, got ", options.alpha));
  else
    MTNLG_CHECK(options.threshold >= 0 && options.threshold <= 1,
                str("--threshold must be in [0, 1], got ", options.threshold));
  JsonLinesReader reader(input, bad_lines);
  AtomicOutputFile kept(output);
  std::unique_ptr<AtomicOutputFile> scores;
  if (options.scores) scores = std::make_unique<AtomicOutputFile>(*options.scores);
  NumpyPareto pareto(options.seed);
  FilterReport report;
  std::string line;
  nlohmann::json doc;
  while (reader.next_document(line, doc, options.key)) {
    const double score = model.score(reader.text(doc, options.key));
    const bool keep = options.rule == FilterRule::pareto ? pareto.pareto(options.alpha) > 1.0 - score
                                                         : score >= options.threshold;
    if (keep) {
      kept.stream() << line << '\n';
      ++report.kept;
    }
    if (scores)
      scores->stream() << nlohmann::ordered_json{{"line", reader.line_number()},
                                                 {"quality_score", score},
                                                 {"kept", keep}}
                              .dump()
                       << '\n';
    ++report.total;
  }
  MTNLG_CHECK(report.total > 0, str(input.string(), " has no documents"));
  kept.commit();
  if (scores) scores->commit();
  return report;
}

}  // namespace mtnlg::data::quality
