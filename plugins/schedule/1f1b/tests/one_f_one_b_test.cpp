// The 1F1B streams: exact for one stage, and for several stages the properties that make it 1F1B.
#include <gtest/gtest.h>

#include "plugin_host/registry.hpp"
#include "schedule_stream_checks.hpp"

using namespace mtnlg;

namespace {
std::unique_ptr<Schedule> make_1f1b(host::Registry& registry) {
  registry.load_required(MTNLG_SCHEDULE_PLUGIN, "test");
  const Table params, recipe;
  return registry.create_as<Schedule>(*registry.find("schedule", "1f1b"), CreateArgs{params, recipe});
}
}  // namespace

TEST(OneFOneB, OneStageIsGradientAccumulationWithOneMicroBatchInFlight) {
  host::Registry registry;
  auto s = make_1f1b(registry);
  const auto stream = s->instructions({1, 0, 3, 1});
  EXPECT_EQ(testing_streams::render(stream),
            "load_micro_batch(mb=0, chunk=0) forward(mb=0, chunk=0) backward(mb=0, chunk=0) "
            "load_micro_batch(mb=1, chunk=0) forward(mb=1, chunk=0) backward(mb=1, chunk=0) "
            "load_micro_batch(mb=2, chunk=0) forward(mb=2, chunk=0) backward(mb=2, chunk=0) "
            "reduce_grads optimizer_step");
}

TEST(OneFOneB, EveryStageRunsEachMicroBatchOnceWithAtMostStagesMinusStageInFlight) {
  host::Registry registry;
  auto s = make_1f1b(registry);
  for (int micro_batches : {1, 3, 8}) {
    for (int stage = 0; stage < 4; ++stage) {
      const auto stream = s->instructions({4, stage, micro_batches, 1});
      SCOPED_TRACE(testing::Message() << "stage " << stage << ", " << micro_batches << " micro-batches");
      testing_streams::expect_complete(stream, micro_batches, stage, 4);
      EXPECT_EQ(testing_streams::peak_in_flight(stream), std::min(4 - stage, micro_batches));
    }
  }
}

TEST(OneFOneB, RejectsVirtualStages) {
  host::Registry registry;
  auto s = make_1f1b(registry);
  EXPECT_THROW(s->instructions({2, 0, 4, 2}), Error);
}
