#pragma once
// Checks a pipeline schedule before anything runs. Schedules are data (one instruction stream per stage), so
// the host can generate every stage's stream and execute them together on a model of the engine: posts of
// sends and receives never block, forward/backward block until the receive they consume has met its send,
// reduce_grads blocks until every send of the stage has met its receive. Sends are unbuffered (rendezvous),
// as NCCL and large MPI messages behave: a model that buffered sends would bless streams that hang on real
// hardware. The same run with per-instruction costs gives the bubble the planner needs.
//
// Virtual stage of (stage s, chunk c) is v = c·stages + s; the model runs through v = 0 .. stages·chunks − 1.
// Activations flow v → v+1, gradients v → v−1; a message is identified by (activation or gradient,
// micro-batch, the virtual stage that sends it).
#include <vector>

#include "mtnlg/schedule.hpp"

namespace mtnlg::host {

struct PipelineShape {
  int stages = 1;         // pipeline-parallel size P
  int chunks = 1;         // model chunks (virtual stages) per stage K
  int micro_batches = 1;  // per step, per data-parallel rank M
};

// What each instruction costs in simulated time. The defaults are the textbook unit costs (a chunk's backward
// is twice its forward; communication overlaps compute and is free), under which GPipe and 1F1B have the
// bubble (P − 1) / (M + P − 1). The planner passes measured costs instead.
struct InstructionCosts {
  double forward = 1.0;   // one chunk's forward of one micro-batch
  double backward = 2.0;  // one chunk's backward of one micro-batch
  double load = 0.0;      // load_micro_batch
  double post = 0.0;      // posting a send or a receive
  double transfer = 0.0;  // from the rendezvous of a send and its receive until the data can be used
  double reduce_grads = 0.0;
  double optimizer_step = 0.0;
  // When not empty, per virtual stage v (size stages·chunks) and per pipeline stage: chunks differ where
  // their layers do (the embedding on the first, the LM head on the last), stages in how many gradients they
  // reduce and update. The scalar above is then unused for that instruction.
  std::vector<double> forward_by_virtual, backward_by_virtual;
  std::vector<double> reduce_grads_by_stage, optimizer_step_by_stage;
};

struct StageReport {
  int instructions = 0;
  int forwards = 0, backwards = 0;
  int sends = 0, receives = 0;  // posts of either direction
  int peak_in_flight = 0;  // forwards whose backward has not run yet, over all chunks, at the worst point
  double busy = 0.0;       // simulated time spent executing instructions (not waiting)
  double finish = 0.0;     // simulated time at which optimizer_step completes
};

struct PipelineReport {
  std::vector<StageReport> stages;
  double makespan = 0.0;  // the slowest stage's finish
  double bubble = 0.0;    // 1 − Σ busy / (stages · makespan): the idle share of the pipeline's time
};

// Runs `streams` (streams[s] is stage s's) together. A defect is an mtnlg::Error whose message names the
// stage, the instruction's position in that stage's stream (0-based), the instruction and why; for a
// deadlock, every blocked stage and what it waits for.
PipelineReport simulate_streams(const std::vector<std::vector<Instruction>>& streams,
                                const PipelineShape& shape, const InstructionCosts& costs = {});

// Generates every stage's stream with `schedule` and simulates them; defects are prefixed with the schedule's
// name. Errors the schedule itself raises (layouts it does not support) pass through as it worded them.
PipelineReport simulate_schedule(const Schedule& schedule, const PipelineShape& shape,
                                 const InstructionCosts& costs = {});

}  // namespace mtnlg::host
