// The pipeline simulator: hand-written streams with one defect each must be refused with a message naming the
// stage, the instruction's position and the reason; the stock schedules must pass for every shape swept, with
// the bubble and in-flight counts their papers give.
#include <gtest/gtest.h>

#include <sstream>

#include "mtnlg/str.hpp"
#include "pipeline/schedule_simulator.hpp"
#include "plugin_host/registry.hpp"

using namespace mtnlg;
using host::PipelineShape;
using host::simulate_schedule;
using host::simulate_streams;

namespace {

// A stream in shorthand, one token per instruction: l load, f forward, b backward, sa send_activation, ra
// recv_activation, sg send_grad, rg recv_grad, then the micro-batch and optionally ".chunk"; R reduce_grads,
// O optimizer_step. "ra1 f1.0 R O".
std::vector<Instruction> stream(const std::string& text) {
  std::vector<Instruction> out;
  std::istringstream tokens(text);
  for (std::string t; tokens >> t;) {
    if (t == "R" || t == "O") {
      out.push_back({t == "R" ? InstrOp::reduce_grads : InstrOp::optimizer_step});
      continue;
    }
    const std::size_t digits = t.find_first_of("0123456789");
    const std::string op = t.substr(0, digits);
    const std::size_t dot = t.find('.');
    const int mb = std::stoi(t.substr(digits, dot - digits));
    const int chunk = dot == std::string::npos ? 0 : std::stoi(t.substr(dot + 1));
    const InstrOp code = op == "l"    ? InstrOp::load_micro_batch
                         : op == "f"  ? InstrOp::forward
                         : op == "b"  ? InstrOp::backward
                         : op == "sa" ? InstrOp::send_activation
                         : op == "ra" ? InstrOp::recv_activation
                         : op == "sg" ? InstrOp::send_grad
                                      : InstrOp::recv_grad;
    out.push_back({code, mb, chunk});
  }
  return out;
}

std::string error_of(const std::vector<std::string>& streams, PipelineShape shape) {
  std::vector<std::vector<Instruction>> parsed;
  for (const auto& s : streams) parsed.push_back(stream(s));
  try {
    simulate_streams(parsed, shape);
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

// 1F1B on two stages with two micro-batches, written out.
const std::string kStage0 = "l0 f0 sa0 l1 f1 sa1 rg0 b0 rg1 b1 R O";
const std::string kStage1 = "ra0 l0 f0 b0 sg0 ra1 l1 f1 b1 sg1 R O";
const PipelineShape kTwoByTwo{2, 1, 2};

}  // namespace

TEST(ScheduleSimulator, HandWritten1F1BPassesWithItsBubbleAndInFlightCounts) {
  const auto report = simulate_streams({stream(kStage0), stream(kStage1)}, kTwoByTwo);
  ASSERT_EQ(report.stages.size(), 2u);
  EXPECT_EQ(report.stages[0].instructions, 12);
  EXPECT_EQ(report.stages[0].forwards, 2);
  EXPECT_EQ(report.stages[0].backwards, 2);
  EXPECT_EQ(report.stages[0].sends, 2);
  EXPECT_EQ(report.stages[0].receives, 2);
  EXPECT_EQ(report.stages[0].peak_in_flight, 2);
  EXPECT_EQ(report.stages[1].peak_in_flight, 1);
  EXPECT_DOUBLE_EQ(report.stages[0].busy, 6.0);
  // f0 on stage 0 [0,1], stage 1 f0 [1,2] b0 [2,4], stage 0 f1 [1,2] b0 [4,6], stage 1 f1 [4,5]... b1 [5,7],
  // stage 0 b1 [7,9]: 9 units, of which each stage is busy 6.
  EXPECT_DOUBLE_EQ(report.makespan, 9.0);
  EXPECT_DOUBLE_EQ(report.bubble, 1.0 / 3.0);
}

TEST(ScheduleSimulator, CostsAreParameters) {
  host::InstructionCosts costs;
  costs.forward = 2.0;
  costs.backward = 4.0;
  costs.transfer = 1.0;
  const auto report = simulate_streams({stream(kStage0), stream(kStage1)}, kTwoByTwo, costs);
  EXPECT_DOUBLE_EQ(report.stages[0].busy, 12.0);
  EXPECT_GT(report.makespan, 18.0);  // every hop now takes a unit more
}

TEST(ScheduleSimulator, SendWithoutAMatchingReceive) {
  EXPECT_EQ(error_of({kStage0, "ra0 l0 f0 b0 sg0 l1 f1 b1 sg1 R O"}, kTwoByTwo),
            "stage 0, instruction 5 send_activation(mb=1, chunk=0): stage 1 posts no matching "
            "recv_activation(mb=1, chunk=0): the send would never complete");
}

TEST(ScheduleSimulator, ReceiveWithoutAMatchingSend) {
  EXPECT_EQ(error_of({kStage0, "ra0 l0 f0 b0 sg0 ra1 l1 f1 b1 R O"}, kTwoByTwo),
            "stage 0, instruction 8 recv_grad(mb=1, chunk=0): stage 1 posts no matching send_grad(mb=1, "
            "chunk=0): the receive would never complete");
}

TEST(ScheduleSimulator, SendLabelledWithTheWrongMicroBatch) {
  // Stage 0 sends micro-batch 1's label right after computing micro-batch 0.
  EXPECT_EQ(error_of({"l0 f0 sa1 l1 f1 sa0 rg0 b0 rg1 b1 R O", kStage1}, kTwoByTwo),
            "stage 0, instruction 2 send_activation(mb=1, chunk=0): sends before forward(mb=1, chunk=0) has "
            "computed it");
}

TEST(ScheduleSimulator, ReceiveFromTheWrongChunk) {
  // Two stages, two chunks: stage 0's chunk 1 (virtual stage 2) receives from stage 1's chunk 0; here stage 0
  // posts that receive as chunk 0, virtual stage 0, which has no previous stage.
  const PipelineShape shape{2, 2, 1};
  EXPECT_EQ(
      error_of({"l0 f0 sa0 ra0.0 f0.1 sa0.1 rg0.1 b0.1 sg0.1 rg0 b0 R O",
                "ra0 f0 sa0 ra0.1 l0.1 f0.1 b0.1 sg0.1 rg0 b0 sg0 R O"},
               shape),
      "stage 0, instruction 3 recv_activation(mb=0, chunk=0): no previous stage to receive from: chunk 0 "
      "of stage 0 is virtual stage 0 of 4, the first");
}

TEST(ScheduleSimulator, P2PTowardsAStageThatDoesNotExist) {
  EXPECT_EQ(
      error_of({kStage0, "ra0 l0 f0 sa0 b0 sg0 ra1 l1 f1 b1 sg1 R O"}, kTwoByTwo),
      "stage 1, instruction 3 send_activation(mb=0, chunk=0): no next stage to send to: chunk 0 of stage "
      "1 is virtual stage 1 of 2, the last");
  EXPECT_EQ(
      error_of({"l0 f0 sa0 l1 f1 sa1 rg0 b0 sg0 rg1 b1 R O", kStage1}, kTwoByTwo),
      "stage 0, instruction 8 send_grad(mb=0, chunk=0): no previous stage to send to: chunk 0 of stage 0 is "
      "virtual stage 0 of 2, the first");
}

TEST(ScheduleSimulator, Deadlock) {
  // Stage 0 waits for micro-batch 0's gradient before sending micro-batch 1; stage 1 wants micro-batch 1
  // before it runs micro-batch 0's backward.
  const std::string message =
      error_of({"l0 f0 sa0 rg0 b0 l1 f1 sa1 rg1 b1 R O", "ra0 l0 f0 ra1 l1 f1 b0 sg0 b1 sg1 R O"}, kTwoByTwo);
  EXPECT_EQ(
      message,
      "deadlock, no stage can advance: stage 0 at instruction 4 backward(mb=0, chunk=0) waits for stage 1 "
      "to post send_grad(mb=0, chunk=0); stage 1 at instruction 5 forward(mb=1, chunk=0) waits for stage 0 "
      "to post send_activation(mb=1, chunk=0)");
}

TEST(ScheduleSimulator, BackwardBeforeItsForward) {
  EXPECT_EQ(
      error_of({kStage0, "ra0 l0 b0 f0 sg0 ra1 l1 f1 b1 sg1 R O"}, kTwoByTwo),
      "stage 1, instruction 2 backward(mb=0, chunk=0): backward before its forward: forward(mb=0, chunk=0) "
      "has not run on this stage");
}

TEST(ScheduleSimulator, SkippedMicroBatch) {
  EXPECT_EQ(error_of({"l0 f0 sa0 rg0 b0 R O", "ra0 l0 f0 b0 sg0 R O"}, kTwoByTwo),
            "stage 0, instruction 5 reduce_grads: forward(mb=1, chunk=0) never runs: the step would skip "
            "micro-batch 1 on chunk 0");
}

TEST(ScheduleSimulator, MicroBatchRunTwice) {
  EXPECT_EQ(error_of({kStage0, "ra0 l0 f0 b0 sg0 ra1 l1 f1 f1 b1 sg1 R O"}, kTwoByTwo),
            "stage 1, instruction 8 forward(mb=1, chunk=0): runs forward twice for the same micro-batch and "
            "chunk");
}

TEST(ScheduleSimulator, ForwardWithoutAReceivePostedBeforeIt) {
  EXPECT_EQ(
      error_of({kStage0, "l0 f0 ra0 b0 sg0 ra1 l1 f1 b1 sg1 R O"}, kTwoByTwo),
      "stage 1, instruction 1 forward(mb=0, chunk=0): no recv_activation posted before it: its input would "
      "never arrive");
}

TEST(ScheduleSimulator, MissingAndExtraLoads) {
  EXPECT_EQ(error_of({"f0 sa0 l1 f1 sa1 rg0 b0 rg1 b1 R O", kStage1}, kTwoByTwo),
            "stage 0, instruction 0 forward(mb=0, chunk=0): no load_micro_batch before it: the first virtual "
            "stage needs the micro-batch's inputs");
  EXPECT_EQ(
      error_of({kStage0, "ra0 f0 b0 sg0 ra1 l1 f1 b1 sg1 R O"}, kTwoByTwo),
      "stage 1, instruction 1 forward(mb=0, chunk=0): no load_micro_batch before it: the last virtual stage "
      "needs the micro-batch's targets");
  EXPECT_EQ(
      error_of({"l0 f0 sa0 rg0 b0 R O", "ra0 l0 f0 sa0 rg0 b0 sg0 R O", "ra0 l0 f0 b0 sg0 R O"}, {3, 1, 1}),
      "stage 1, instruction 1 load_micro_batch(mb=0, chunk=0): only the first virtual stage (inputs) and "
      "the last (targets) load micro-batches: chunk 0 of stage 1 is virtual stage 1 of 3");
  EXPECT_EQ(
      error_of({"l0 l0 f0 sa0 rg0 b0 R O", "ra0 l0 f0 b0 sg0 R O"}, {2, 1, 1}),
      "stage 0, instruction 1 load_micro_batch(mb=0, chunk=0): loads twice for the same micro-batch and "
      "chunk");
}

TEST(ScheduleSimulator, StreamMustEndWithReduceGradsThenOptimizerStep) {
  EXPECT_EQ(error_of({"l0 f0 sa0 rg0 b0 R", "ra0 l0 f0 b0 sg0 R O"}, {2, 1, 1}),
            "stage 0, instruction 5 reduce_grads: reduce_grads must come once, second to last, followed by "
            "optimizer_step: gradients are complete only after every backward of the step");
  EXPECT_EQ(error_of({"l0 f0 sa0 rg0 b0 R O", "ra0 l0 f0 b0 sg0"}, {2, 1, 1}),
            "stage 1, instruction 4 send_grad(mb=0, chunk=0): the stream must end with reduce_grads, "
            "optimizer_step");
  EXPECT_EQ(
      error_of({"l0 f0 sa0 rg0 b0 R O", "ra0 l0 f0 O b0 sg0 R O"}, {2, 1, 1}),
      "stage 1, instruction 3 optimizer_step: optimizer_step must come once, last, right after reduce_grads");
}

TEST(ScheduleSimulator, OutOfRangeMicroBatchOrChunk) {
  EXPECT_EQ(
      error_of({"l0 f0 sa0 rg0 b0 l2 R O", "ra0 l0 f0 b0 sg0 R O"}, {2, 1, 1}),
      "stage 0, instruction 5 load_micro_batch(mb=2, chunk=0): no such micro-batch: the step has 1 (0 to 0)");
  EXPECT_EQ(error_of({"l0 f0.1 R O"}, {1, 1, 1}),
            "stage 0, instruction 1 forward(mb=0, chunk=1): no such chunk: each stage runs 1 chunk (0 to 0)");
}

// The stock schedules, from the built plugin directory.
class StockSchedules : public testing::Test {
 protected:
  void SetUp() override { registry_.load(MTNLG_PLUGIN_DIR, "test"); }
  std::unique_ptr<Schedule> make(const char* name) const {
    const Table params, recipe;
    const auto* record = registry_.find("schedule", name);
    if (record == nullptr) throw Error(str("no schedule '", name, "' in ", MTNLG_PLUGIN_DIR));
    auto s = registry_.create_as<Schedule>(*record, CreateArgs{params, recipe});
    return s;
  }
  host::Registry registry_;
};

TEST_F(StockSchedules, GPipeAnd1F1BPassWithTheTextbookBubble) {
  for (const char* name : {"gpipe", "1f1b"}) {
    const auto schedule = make(name);
    for (int P = 1; P <= 8; ++P)
      for (int M = 1; M <= 16; ++M) {
        SCOPED_TRACE(testing::Message() << name << ", " << P << " stages, " << M << " micro-batches");
        const auto report = simulate_schedule(*schedule, {P, 1, M});
        EXPECT_NEAR(report.bubble, double(P - 1) / (M + P - 1), 1e-12);
        EXPECT_DOUBLE_EQ(report.makespan, 3.0 * (M + P - 1));
        for (int s = 0; s < P; ++s) {
          const auto& r = report.stages[s];
          EXPECT_EQ(r.forwards, M);
          EXPECT_EQ(r.backwards, M);
          EXPECT_EQ(r.peak_in_flight, std::string(name) == "gpipe" ? M : std::min(P - s, M)) << "stage " << s;
          EXPECT_EQ(r.sends, (s > 0 ? M : 0) + (s < P - 1 ? M : 0));
          EXPECT_EQ(r.receives, r.sends);
        }
      }
  }
}

TEST_F(StockSchedules, InterleavedPassesEveryShapeItSupportsAndShrinksTheBubble) {
  const auto schedule = make("interleaved");
  for (int P = 1; P <= 8; ++P)
    for (int K = 1; K <= 4; ++K)
      for (int M = 1; M <= 16; ++M) {
        if (K > 1 && M % P != 0) continue;
        SCOPED_TRACE(testing::Message() << P << " stages, " << K << " chunks, " << M << " micro-batches");
        const auto report = simulate_schedule(*schedule, {P, K, M});
        for (const auto& r : report.stages) {
          EXPECT_EQ(r.forwards, K * M);
          EXPECT_EQ(r.backwards, K * M);
        }
        // Megatron's claim: the bubble shrinks by the number of chunks, to (P − 1) / (K·M + P − 1) of the
        // step with each chunk costing 1/K of a stage's work.
        EXPECT_NEAR(report.bubble, double(P - 1) / (K * M + P - 1), 1e-12);
      }
}

TEST_F(StockSchedules, InterleavedRefusesMicroBatchesItCannotGroup) {
  const auto schedule = make("interleaved");
  EXPECT_THROW(simulate_schedule(*schedule, {4, 2, 6}), Error);
}

TEST_F(StockSchedules, LayoutsAScheduleRefusesKeepItsOwnMessage) {
  const auto schedule = make("1f1b");
  try {
    simulate_schedule(*schedule, {2, 2, 4});
    FAIL() << "1f1b accepted two chunks";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "schedule '1f1b': 1f1b runs one model chunk per stage, not parallel.virtual_stages = 2: use "
              "parallel.schedule = \"interleaved\" for virtual stages");
  }
}

TEST_F(StockSchedules, GPipeRefusesVirtualStages) {
  EXPECT_THROW(simulate_schedule(*make("gpipe"), {2, 2, 4}), Error);
}
