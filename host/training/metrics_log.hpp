#pragma once
// RUN_DIR/metrics.jsonl: one JSON object per step, written and flushed as the step ends, so a run that dies
// leaves every finished step on disk and never half a line.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace mtnlg::host {

struct StepMetrics {
  std::int64_t step = 0;
  std::int64_t tokens = 0;  // consumed so far, this step included
  double loss = 0.0;
  double lr = 0.0;
  std::int64_t batch = 0;  // global batch of this step, in samples
  double grad_norm = 0.0;
  double step_time_s = 0.0;
  double tokens_per_s = 0.0;
  double tflops_per_device = 0.0;           // model FLOPs: the same for every recomputation mode
  double hardware_tflops_per_device = 0.0;  // FLOPs computed, recomputation included
  std::optional<double> mfu;                // null where the device's peak is unknown (CPUs)
  std::optional<double> val_loss;           // on steps that evaluate
  double loss_scale = 1.0;                  // fp16: the loss scale of this step's backward; 1 otherwise
  bool skipped = false;                     // fp16: the gradients overflowed and the update was skipped
};

class MetricsLog {
 public:
  // A new log; or, for a run resumed after step `resumed_after` > 0, the existing log cut back to the steps
  // up to that one (later lines are from the run that was interrupted, and are about to be redone) and
  // continued.
  explicit MetricsLog(const std::filesystem::path& file, std::int64_t resumed_after = 0);
  void write(const StepMetrics& m);

 private:
  std::ofstream out_;
  std::filesystem::path file_;
};

// JSON text of one step's metrics (no newline); non-finite numbers become null.
std::string metrics_json(const StepMetrics& m);

// FLOPs of one training iteration of a GPT without activation recomputation (Narayanan et al. 2021):
// 72·B·s·l·h²·(1 + s/(6h) + V/(12·l·h)), B samples of s tokens, l layers, hidden h, (padded) vocabulary V.
double gpt_flops_per_iteration(double batch, double seq, double layers, double hidden, double vocab);

// FLOPs activation recomputation adds to one iteration (hardware minus model FLOPs): another forward pass of
// `full_blocks` blocks, 24·B·s·h² + 4·B·s²·h each, and of the attention core alone (q·kᵀ and P·v) of
// `core_blocks` blocks, 4·B·s²·h each. With every block fully recomputed, model + this is Narayanan et al.'s
// 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)): four forward passes' worth of block FLOPs instead of three.
double gpt_recompute_flops_per_iteration(double batch, double seq, double hidden, double full_blocks,
                                         double core_blocks);

}  // namespace mtnlg::host
