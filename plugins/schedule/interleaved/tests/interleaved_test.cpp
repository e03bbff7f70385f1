// The interleaved streams: Megatron's order of (micro-batch, chunk) steps, complete streams for every stage,
// exactly 1F1B with one chunk, and a clear refusal of micro-batch counts it cannot interleave.
#include <gtest/gtest.h>

#include "mtnlg/str.hpp"
#include "plugin_host/registry.hpp"
#include "schedule_stream_checks.hpp"

using namespace mtnlg;

namespace {
std::unique_ptr<Schedule> make(host::Registry& registry, const char* plugin, const char* name) {
  registry.load_required(plugin, "test");
  const Table params, recipe;
  return registry.create_as<Schedule>(*registry.find("schedule", name), CreateArgs{params, recipe});
}

// "F2.1" = forward(mb=2, chunk=1), "B0.0" = backward(mb=0, chunk=0): the compute order at a glance.
std::string steps(const std::vector<Instruction>& stream) {
  std::string out;
  for (const auto& in : testing_streams::compute_order(stream))
    out += str(out.empty() ? "" : " ", in.op == InstrOp::forward ? "F" : "B", in.micro_batch, ".", in.chunk);
  return out;
}
}  // namespace

TEST(Interleaved, VisitsChunksInGroupsOfStagesMicroBatchesAndBackwardInReverse) {
  host::Registry registry;
  auto s = make(registry, MTNLG_SCHEDULE_PLUGIN, "interleaved");
  // 2 stages, 2 chunks, 4 micro-batches: stage 0 warms up with (2 − 0 − 1)·2 + (2 − 1)·2 = 4 forwards.
  EXPECT_EQ(steps(s->instructions({2, 0, 4, 2})),
            "F0.0 F1.0 F0.1 F1.1 F2.0 B0.1 F3.0 B1.1 F2.1 B0.0 F3.1 B1.0 B2.1 B3.1 B2.0 B3.0");
  // Stage 1 warms up with (2 − 1 − 1)·2 + 2 = 2.
  EXPECT_EQ(steps(s->instructions({2, 1, 4, 2})),
            "F0.0 F1.0 F0.1 B0.1 F1.1 B1.1 F2.0 B0.0 F3.0 B1.0 F2.1 B2.1 F3.1 B3.1 B2.0 B3.0");
}

TEST(Interleaved, PostsTheNextReceiveBeforeComputingSoTransfersOverlapCompute) {
  host::Registry registry;
  auto s = make(registry, MTNLG_SCHEDULE_PLUGIN, "interleaved");
  // The last of two stages: micro-batch 1's receive is posted before micro-batch 0's backward runs.
  EXPECT_EQ(testing_streams::render(s->instructions({2, 1, 2, 1})),
            "recv_activation(mb=0, chunk=0) load_micro_batch(mb=0, chunk=0) forward(mb=0, chunk=0) "
            "recv_activation(mb=1, chunk=0) backward(mb=0, chunk=0) send_grad(mb=0, chunk=0) "
            "load_micro_batch(mb=1, chunk=0) forward(mb=1, chunk=0) backward(mb=1, chunk=0) "
            "send_grad(mb=1, chunk=0) reduce_grads optimizer_step");
  // The first: the gradient's receive is posted before the forward whose backward consumes it.
  EXPECT_EQ(testing_streams::render(s->instructions({2, 0, 1, 1})),
            "recv_grad(mb=0, chunk=0) load_micro_batch(mb=0, chunk=0) forward(mb=0, chunk=0) "
            "send_activation(mb=0, chunk=0) backward(mb=0, chunk=0) reduce_grads optimizer_step");
}

TEST(Interleaved, EveryStageRunsEveryMicroBatchOnEveryChunkOnce) {
  host::Registry registry;
  auto s = make(registry, MTNLG_SCHEDULE_PLUGIN, "interleaved");
  for (int stages : {1, 2, 4})
    for (int chunks : {1, 2, 3})
      for (int groups : {1, 2, 3})
        for (int stage = 0; stage < stages; ++stage) {
          const int micro_batches = groups * stages;
          SCOPED_TRACE(testing::Message() << stages << " stages, " << chunks << " chunks, " << micro_batches
                                          << " micro-batches, stage " << stage);
          testing_streams::expect_complete(s->instructions({stages, stage, micro_batches, chunks}),
                                           micro_batches, stage, stages, chunks);
        }
}

TEST(Interleaved, WithOneChunkRunsExactlyWhat1F1BRuns) {
  host::Registry registry;
  auto interleaved = make(registry, MTNLG_SCHEDULE_PLUGIN, "interleaved");
  auto one_f_one_b = make(registry, MTNLG_1F1B_PLUGIN, "1f1b");
  for (int stages = 1; stages <= 5; ++stages)
    for (int micro_batches = 1; micro_batches <= 9; ++micro_batches)
      for (int stage = 0; stage < stages; ++stage) {
        const PipelineLayout layout{stages, stage, micro_batches, 1};
        SCOPED_TRACE(testing::Message()
                     << stages << " stages, " << micro_batches << " micro-batches, stage " << stage);
        const auto ours = interleaved->instructions(layout), theirs = one_f_one_b->instructions(layout);
        EXPECT_EQ(testing_streams::compute_order(ours), testing_streams::compute_order(theirs));
        EXPECT_EQ(ours.size(), theirs.size());
      }
}

TEST(Interleaved, RefusesMicroBatchesThatAreNotAMultipleOfTheStages) {
  host::Registry registry;
  auto s = make(registry, MTNLG_SCHEDULE_PLUGIN, "interleaved");
  try {
    s->instructions({4, 0, 6, 2});
    FAIL() << "6 micro-batches over 4 stages with 2 chunks was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("schedule 'interleaved'"), std::string::npos) << message;
    EXPECT_NE(message.find("micro-batches per step (6) to be a multiple of the pipeline stages (4)"),
              std::string::npos)
        << message;
  }
  EXPECT_NO_THROW(s->instructions({4, 0, 6, 1}));  // one chunk is plain 1F1B: any count works
}
