// The GPipe streams: all forwards, then all backwards; every micro-batch in flight at the peak.
#include <gtest/gtest.h>

#include "plugin_host/registry.hpp"
#include "schedule_stream_checks.hpp"

using namespace mtnlg;

namespace {
std::unique_ptr<Schedule> make_gpipe(host::Registry& registry) {
  registry.load_required(MTNLG_SCHEDULE_PLUGIN, "test");
  const Table params, recipe;
  return registry.create_as<Schedule>(*registry.find("schedule", "gpipe"), CreateArgs{params, recipe});
}
}  // namespace

TEST(GPipe, OneStageRunsAllForwardsThenAllBackwards) {
  host::Registry registry;
  auto s = make_gpipe(registry);
  EXPECT_EQ(
      testing_streams::render(s->instructions({1, 0, 2, 1})),
      "load_micro_batch(mb=0, chunk=0) forward(mb=0, chunk=0) load_micro_batch(mb=1, chunk=0) "
      "forward(mb=1, chunk=0) backward(mb=0, chunk=0) backward(mb=1, chunk=0) reduce_grads optimizer_step");
}

TEST(GPipe, EveryStageKeepsAllMicroBatchesInFlight) {
  host::Registry registry;
  auto s = make_gpipe(registry);
  for (int stage = 0; stage < 3; ++stage) {
    const auto stream = s->instructions({3, stage, 5, 1});
    SCOPED_TRACE(testing::Message() << "stage " << stage);
    testing_streams::expect_complete(stream, 5, stage, 3);
    EXPECT_EQ(testing_streams::peak_in_flight(stream), 5);
  }
}

TEST(GPipe, RejectsVirtualStages) {
  host::Registry registry;
  auto s = make_gpipe(registry);
  EXPECT_THROW(s->instructions({2, 0, 4, 2}), Error);
}
