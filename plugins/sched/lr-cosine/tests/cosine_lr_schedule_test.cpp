// The cosine schedule with MT-NLG's numbers (peak 5.0e-5, 1B-token warm-up, cosine to 10% at 340B tokens),
// its edge cases and its errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "cosine_lr_schedule.hpp"

namespace mtnlg::sched {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr double kPeak = 5.0e-5;
constexpr std::int64_t kB = 1'000'000'000;

std::unique_ptr<CosineLrSchedule> make(std::int64_t warmup, std::int64_t decay, double min_ratio,
                                       const SourcePos& at = {}) {
  Table params;
  params.set("warmup_tokens", Value(warmup, at));
  params.set("decay_tokens", Value(decay, at));
  params.set("min_ratio", Value(min_ratio, at));
  const Table recipe;
  auto s = std::make_unique<CosineLrSchedule>(CreateArgs{params, recipe});
  s->set_component_label("lr_schedule 'cosine'");
  return s;
}

TrainingProgress at_tokens(std::int64_t tokens) {
  TrainingProgress p;
  p.consumed_tokens = tokens;
  p.consumed_samples = tokens / 2048;
  return p;
}

// Relative closeness: the values span 5e-6 .. 5e-5, so an absolute tolerance would say little.
void expect_lr(double got, double want) {
  EXPECT_NEAR(got, want, 1e-12 * want) << "want " << want;
}

TEST(CosineLr, MtNlgWarmup) {
  const auto s = make(kB, 340 * kB, 0.1);
  // Megatron's warm-up gives exactly 0 before anything is consumed.
  EXPECT_EQ(s->lr(kPeak, at_tokens(0)), 0.0);
  expect_lr(s->lr(kPeak, at_tokens(kB / 2)), 2.5e-5);
  expect_lr(s->lr(kPeak, at_tokens(kB)), 5.0e-5);
  // Linear all the way.
  expect_lr(s->lr(kPeak, at_tokens(kB / 4)), 1.25e-5);
}

TEST(CosineLr, MtNlgCosineDecay) {
  const auto s = make(kB, 340 * kB, 0.1);
  // Halfway through the decay, (1B + 340B) / 2: the cosine's midpoint, (peak + min) / 2.
  expect_lr(s->lr(kPeak, at_tokens(170 * kB + kB / 2)), 2.75e-5);
  expect_lr(s->lr(kPeak, at_tokens(340 * kB)), 5.0e-6);
  expect_lr(s->lr(kPeak, at_tokens(340 * kB + 1)), 5.0e-6);
  expect_lr(s->lr(kPeak, at_tokens(450 * kB)), 5.0e-6);
  // Just past the warm-up the cosine starts at the peak.
  expect_lr(s->lr(kPeak, at_tokens(kB + 2048)), 5.0e-5);
  EXPECT_LT(s->lr(kPeak, at_tokens(2 * kB)), 5.0e-5);
}

TEST(CosineLr, MonotoneNonIncreasingAfterWarmup) {
  const auto s = make(kB, 340 * kB, 0.1);
  double previous = s->lr(kPeak, at_tokens(kB));
  for (std::int64_t t = kB; t <= 360 * kB; t += 97'000'003) {  // an odd stride: not aligned to anything
    const double lr = s->lr(kPeak, at_tokens(t));
    EXPECT_LE(lr, previous) << "at " << t << " tokens";
    EXPECT_GE(lr, 5.0e-6 * (1 - 1e-12)) << "at " << t << " tokens";
    previous = lr;
  }
}

TEST(CosineLr, ConstantAfterWarmupWithoutDecay) {
  const auto s = make(1000, 0, 0.1);
  expect_lr(s->lr(kPeak, at_tokens(500)), 2.5e-5);
  expect_lr(s->lr(kPeak, at_tokens(1001)), kPeak);
  expect_lr(s->lr(kPeak, at_tokens(500 * kB)), kPeak);
}

TEST(CosineLr, NoWarmupStartsAtThePeak) {
  const auto s = make(0, 1000, 0.0);
  expect_lr(s->lr(kPeak, at_tokens(0)), kPeak);
  expect_lr(s->lr(kPeak, at_tokens(500)), kPeak / 2);
  EXPECT_EQ(s->lr(kPeak, at_tokens(1001)), 0.0);
  const auto constant = make(0, 0, 0.1);
  EXPECT_EQ(constant->lr(kPeak, at_tokens(0)), kPeak);
  EXPECT_EQ(constant->lr(kPeak, at_tokens(123 * kB)), kPeak);
}

TEST(CosineLr, RejectsDecayInsideWarmup) {
  const SourcePos pos{"recipe.toml", 21, 16, ""};
  EXPECT_THAT([&] { make(kB, kB, 0.1, pos); },
              ThrowsMessage<Error>(AllOf(HasSubstr("recipe.toml:21:16"),
                                         HasSubstr("decay_tokens (1000000000) must exceed warmup_tokens "
                                                   "(1000000000)"),
                                         HasSubstr("counts from the start of training"),
                                         HasSubstr("set 0 for no decay"))));
  EXPECT_THAT([&] { make(2 * kB, kB, 0.1, pos); },
              ThrowsMessage<Error>(HasSubstr("must exceed warmup_tokens")));
}

TEST(CosineLr, RejectsBadValues) {
  const SourcePos pos{"recipe.toml", 3, 1, ""};
  EXPECT_THAT([&] { make(-1, 0, 0.1, pos); },
              ThrowsMessage<Error>(AllOf(HasSubstr("recipe.toml:3:1"),
                                         HasSubstr("warmup_tokens must be >= 0 (0 = no warm-up), got -1"))));
  EXPECT_THAT([&] { make(0, -5, 0.1, pos); },
              ThrowsMessage<Error>(HasSubstr("decay_tokens must be >= 0 (0 = no decay), got -5")));
  EXPECT_THAT([&] { make(0, 10, 1.5, pos); },
              ThrowsMessage<Error>(AllOf(HasSubstr("min_ratio must be in [0, 1]"), HasSubstr("got 1.5"))));
  EXPECT_THAT([&] { make(0, 10, -0.1, pos); },
              ThrowsMessage<Error>(HasSubstr("min_ratio must be in [0, 1]")));
}

TEST(CosineLr, ErrorsAtStepTimeNameTheComponent) {
  const auto s = make(10, 100, 0.1);
  EXPECT_THAT(
      [&] { s->lr(kPeak, at_tokens(-1)); },
      ThrowsMessage<Error>(AllOf(HasSubstr("lr_schedule 'cosine'"), HasSubstr("consumed_tokens is -1"))));
}

}  // namespace
}  // namespace mtnlg::sched
