// The batch-size ramp-up with MT-NLG's numbers (32 → 1920 by 32 over 12B tokens at seq_len 2048), the
// constant schedule, and the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "rampup_batch_schedule.hpp"

namespace mtnlg::sched {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr std::int64_t kFinal = 1920;
constexpr std::int64_t kRamp = 12'000'000'000 / 2048;  // 5,859,375 samples

Table keys(std::int64_t start, std::int64_t increment, std::int64_t ramp_samples, const SourcePos& at = {}) {
  Table params;
  params.set("start", Value(start, at));
  params.set("increment", Value(increment, at));
  params.set("ramp_samples", Value(ramp_samples, at));
  return params;
}

Table recipe_with_global_batch(std::int64_t global_batch) {
  Table train;
  train.set("global_batch", Value(global_batch));
  Table recipe;
  recipe.set("train", Value(std::move(train)));
  return recipe;
}

std::unique_ptr<RampupBatchSchedule> make(std::int64_t start, std::int64_t increment,
                                          std::int64_t ramp_samples, const Table& recipe = Table{}) {
  const Table params = keys(start, increment, ramp_samples);
  auto s = std::make_unique<RampupBatchSchedule>(CreateArgs{params, recipe});
  s->set_component_label("batch_schedule 'rampup'");
  return s;
}

TrainingProgress at_samples(std::int64_t samples) {
  TrainingProgress p;
  p.consumed_samples = samples;
  p.consumed_tokens = samples * 2048;
  return p;
}

TEST(BatchRampup, MtNlgRamp) {
  const auto s = make(32, 32, kRamp, recipe_with_global_batch(kFinal));
  ASSERT_EQ(kRamp, 5'859'375);
  EXPECT_EQ(s->increments(kFinal), 59);
  EXPECT_EQ(s->global_batch(kFinal, at_samples(0)), 32);
  // One slice is 5,859,375 / 59 = 99,311.44 samples.
  EXPECT_EQ(s->global_batch(kFinal, at_samples(99'311)), 32);
  EXPECT_EQ(s->global_batch(kFinal, at_samples(99'312)), 64);
  EXPECT_EQ(s->global_batch(kFinal, at_samples(198'622)), 64);
  EXPECT_EQ(s->global_batch(kFinal, at_samples(198'623)), 96);
  // The last slice, then the full batch at and after the end of the ramp.
  EXPECT_EQ(s->global_batch(kFinal, at_samples(kRamp - 1)), 1888);
  EXPECT_EQ(s->global_batch(kFinal, at_samples(kRamp)), kFinal);
  EXPECT_EQ(s->global_batch(kFinal, at_samples(kRamp + 1)), kFinal);
  EXPECT_EQ(s->global_batch(kFinal, at_samples(1'000'000'000)), kFinal);
}

TEST(BatchRampup, EverySliceBoundary) {
  const auto s = make(32, 32, kRamp);
  for (std::int64_t k = 1; k < 59; ++k) {
    // The first sample of slice k is ⌈k · 99,311.44⌉.
    const std::int64_t first = (k * kRamp + 58) / 59;
    EXPECT_EQ(s->global_batch(kFinal, at_samples(first - 1)), 32 + 32 * (k - 1)) << "slice " << k;
    EXPECT_EQ(s->global_batch(kFinal, at_samples(first)), 32 + 32 * k) << "slice " << k;
  }
}

TEST(BatchRampup, MonotoneMultiplesOfTheIncrement) {
  const auto s = make(32, 32, kRamp);
  std::int64_t previous = 32;
  for (std::int64_t consumed = 0; consumed <= kRamp + 50'000; consumed += 1'237) {
    const std::int64_t b = s->global_batch(kFinal, at_samples(consumed));
    EXPECT_GE(b, previous) << "at " << consumed << " samples";
    EXPECT_LE(b, kFinal);
    EXPECT_EQ(b % 32, 0) << "at " << consumed << " samples";
    previous = b;
  }
  EXPECT_EQ(previous, kFinal);
}

// Where ramp_samples / increments is a whole number, each slice starts exactly on its boundary, and the
// ramp's last sample already gets the final batch (a double division could put both one sample late).
TEST(BatchRampup, ExactBoundaries) {
  const auto s = make(4, 4, 30);  // 4 → 16: 3 increments of 10 samples
  EXPECT_EQ(s->global_batch(16, at_samples(9)), 4);
  EXPECT_EQ(s->global_batch(16, at_samples(10)), 8);
  EXPECT_EQ(s->global_batch(16, at_samples(20)), 12);
  EXPECT_EQ(s->global_batch(16, at_samples(29)), 12);
  EXPECT_EQ(s->global_batch(16, at_samples(30)), 16);
}

TEST(BatchRampup, RejectsARampThatMissesTheFinalBatch) {
  const Table params = keys(32, 32, kRamp, SourcePos{"recipe.toml", 40, 9, ""});
  const Table recipe = recipe_with_global_batch(1900);
  EXPECT_THAT(
      [&] {
        RampupBatchSchedule s(CreateArgs{params, recipe});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("recipe.toml:40:9"),
                                 HasSubstr("start = 32 and increment = 32 do not reach "
                                           "train.global_batch = 1900"),
                                 HasSubstr("global_batch − start = 1868 is not a multiple of increment"))));
  // The same check when the final batch arrives at step time (e.g. a recipe without train.global_batch).
  const auto s = make(32, 32, kRamp);
  EXPECT_THAT([&] { s->global_batch(1900, at_samples(0)); },
              ThrowsMessage<Error>(AllOf(HasSubstr("batch_schedule 'rampup'"), HasSubstr("not a multiple"))));
}

TEST(BatchRampup, RejectsAStartThatIsNotBelowTheFinalBatch) {
  const Table params = keys(1920, 32, kRamp);
  const Table recipe = recipe_with_global_batch(1920);
  EXPECT_THAT(
      [&] {
        RampupBatchSchedule s(CreateArgs{params, recipe});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("batch_schedule.start (1920) must be below train.global_batch "
                                           "(1920)"),
                                 HasSubstr("'constant' batch schedule"))));
  const auto s = make(64, 32, kRamp);
  EXPECT_THAT(
      [&] { s->global_batch(32, at_samples(0)); },
      ThrowsMessage<Error>(HasSubstr("batch_schedule.start (64) must be below train.global_batch (32)")));
}

TEST(BatchRampup, RejectsNonPositiveKeys) {
  const Table recipe;
  const SourcePos pos{"recipe.toml", 5, 1, ""};
  EXPECT_THAT(
      [&] {
        RampupBatchSchedule s(CreateArgs{keys(0, 32, kRamp, pos), recipe});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("recipe.toml:5:1"),
                                 HasSubstr("batch_schedule.start must be at least 1 sample, got 0"))));
  EXPECT_THAT(
      [&] {
        RampupBatchSchedule s(CreateArgs{keys(32, 0, kRamp, pos), recipe});
      },
      ThrowsMessage<Error>(HasSubstr("batch_schedule.increment must be at least 1 sample, got 0")));
  EXPECT_THAT(
      [&] {
        RampupBatchSchedule s(CreateArgs{keys(32, 32, -3, pos), recipe});
      },
      ThrowsMessage<Error>(HasSubstr("batch_schedule.ramp_samples must be at least 1, got -3")));
}

TEST(BatchConstant, AlwaysTheFinalBatch) {
  const Table params, recipe;
  ConstantBatchSchedule s(CreateArgs{params, recipe});
  EXPECT_EQ(s.global_batch(kFinal, at_samples(0)), kFinal);
  EXPECT_EQ(s.global_batch(kFinal, at_samples(kRamp / 2)), kFinal);
  EXPECT_EQ(s.global_batch(8, at_samples(123)), 8);
}

}  // namespace
}  // namespace mtnlg::sched
