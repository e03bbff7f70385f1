#include "training/metrics_log.hpp"

#include <cmath>
#include <cstdio>
#include <regex>

#include "checkpoint/durable_file.hpp"

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {
std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);  // round-trips: runs compare exactly
  return buf;
}
}  // namespace

std::string metrics_json(const StepMetrics& m) {
  std::string s =
      str("{\"step\": ", m.step, ", \"tokens\": ", m.tokens, ", \"loss\": ", number(m.loss),
          ", \"lr\": ", number(m.lr), ", \"batch\": ", m.batch, ", \"grad_norm\": ", number(m.grad_norm),
          ", \"step_time_s\": ", number(m.step_time_s), ", \"tokens_per_s\": ", number(m.tokens_per_s),
          ", \"tflops_per_device\": ", number(m.tflops_per_device),
          ", \"hardware_tflops_per_device\": ", number(m.hardware_tflops_per_device),
          ", \"mfu\": ", m.mfu ? number(*m.mfu) : "null", ", \"loss_scale\": ", number(m.loss_scale),
          ", \"skipped\": ", m.skipped ? "true" : "false");
  if (m.val_loss) s += ", \"val_loss\": " + number(*m.val_loss);
  return s + "}";
}

MetricsLog::MetricsLog(const std::filesystem::path& file, std::int64_t resumed_after) : file_(file) {
  if (resumed_after > 0 && std::filesystem::exists(file)) {
    std::ifstream in(file);
    std::string kept, line;
    static const std::regex step(R"(^\{"step": (\d+),)");
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, step) && std::stoll(m[1]) <= resumed_after) kept += line + "\n";
    }
    replace_file_atomically(file, kept);
    out_.open(file, std::ios::app);
  } else {
    out_.open(file, std::ios::trunc);
  }
  MTNLG_CHECK(out_.good(), str("cannot write ", file.string(), ": check that the run directory is writable"));
}

void MetricsLog::write(const StepMetrics& m) {
  out_ << metrics_json(m) << '\n';
  out_.flush();
  MTNLG_CHECK(out_.good(), str("writing ", file_.string(), " failed (disk full?)"));
}

double gpt_flops_per_iteration(double batch, double seq, double layers, double hidden, double vocab) {
  return 72.0 * batch * seq * layers * hidden * hidden *
         (1.0 + seq / (6.0 * hidden) + vocab / (12.0 * layers * hidden));
}

double gpt_recompute_flops_per_iteration(double batch, double seq, double hidden, double full_blocks,
                                         double core_blocks) {
  const double core = 4.0 * batch * seq * seq * hidden;
  return full_blocks * (24.0 * batch * seq * hidden * hidden + core) + core_blocks * core;
}

}  // namespace mtnlg::host
