#include "score_documents.hpp"

#include <cmath>
#include <memory>

#include "atomic_output.hpp"
#include "json_lines.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "numpy_pareto.hpp"

namespace mtnlg::data::quality {

std::size_t score_documents(const QualityModel& model, const std::filesystem::path& input,
                            const std::filesystem::path& output, const std::string& key) {
  JsonLinesReader reader(input);
  AtomicOutput out(output);
  std::size_t n = 0;
  JsonLine line;
  while (reader.next(line)) {
    const double score = model.score(reader.text(line, key));
    line.doc.erase(
        "quality_score");  // so that rescoring moves it to the end rather than keeping a stale place
    line.doc["quality_score"] = score;
    out.stream() << line.doc.dump() << '\n';
    ++n;
  }
  MTNLG_CHECK(n > 0, str(input.string(), " has no documents"));
  out.commit();
  return n;
}

FilterReport filter_documents(const QualityModel& model, const std::filesystem::path& input,
                              const std::filesystem::path& output, const FilterOptions& options) {
  if (options.rule == FilterRule::pareto)
    MTNLG_CHECK(options.alpha > 0 && std::isfinite(options.alpha),
                str("--alpha must be positive, got ", options.alpha));
  else
    MTNLG_CHECK(options.threshold >= 0 && options.threshold <= 1,
                str("--threshold must be in [0, 1], got ", options.threshold));
  JsonLinesReader reader(input);
  AtomicOutput kept(output);
  std::unique_ptr<AtomicOutput> scores;
  if (options.scores) scores = std::make_unique<AtomicOutput>(*options.scores);
  NumpyPareto pareto(options.seed);
  FilterReport report;
  JsonLine line;
  while (reader.next(line)) {
    const double score = model.score(reader.text(line, options.key));
    const bool keep = options.rule == FilterRule::pareto ? pareto.pareto(options.alpha) > 1.0 - score
                                                         : score >= options.threshold;
    if (keep) {
      kept.stream() << line.raw << '\n';
      ++report.kept;
    }
    if (scores)
      scores->stream()
          << nlohmann::ordered_json{{"line", line.line}, {"quality_score", score}, {"kept", keep}}.dump()
          << '\n';
    ++report.total;
  }
  MTNLG_CHECK(report.total > 0, str(input.string(), " has no documents"));
  kept.commit();
  if (scores) scores->commit();
  return report;
}

}  // namespace mtnlg::data::quality
