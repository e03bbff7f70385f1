// Finding parameters in the flat buffers and grouping them into multi-tensor runs: what ends a run (another
// weight-decay rule, a gap, another buffer, attach order), and what makes the parameters not flat at all.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "adamw_fixture.hpp"
#include "flat_runs.hpp"

namespace mtnlg::optim {

// For the matchers, found by argument-dependent lookup (so in FlatRun's namespace).
bool operator==(const FlatRun& a, const FlatRun& b) {
  return a.buffer == b.buffer && a.begin == b.begin && a.end == b.end && a.weight_decay == b.weight_decay;
}

void PrintTo(const FlatRun& r, std::ostream* os) {
  *os << "{buffer " << r.buffer << ", [" << r.begin << ", " << r.end << "), decay " << r.weight_decay << "}";
}

namespace test {
namespace {

using ::testing::HasSubstr;

// A flat buffer of n f32 elements, `lead` elements into its allocation (a ZeRO-1 shard starts inside the
// whole buffer).
FlatBuffer flat_buffer(Backend& backend, std::int64_t n, std::int64_t lead = 0) {
  return {backend.empty({lead + n}, DType::f32).sub_buffer(lead, {n}),
          backend.empty({lead + n}, DType::f32).sub_buffer(lead, {n})};
}

OptimizerParam param_at(const FlatBuffer& f, const std::string& name, const Shape& shape, std::int64_t offset,
                        bool decay) {
  OptimizerParam p;
  p.name = name;
  p.spec.name = name;
  p.spec.shape = shape;
  p.spec.weight_decay = decay;
  p.value = f.values.sub_buffer(offset, shape);
  p.grad = f.grads.sub_buffer(offset, shape);
  return p;
}

std::vector<FlatRun> runs_of(const std::vector<OptimizerParam>& params, const std::vector<FlatBuffer>& flat) {
  std::string why;
  const std::optional<std::vector<FlatPlace>> places = place_in_flat(params, flat, why);
  EXPECT_TRUE(places.has_value()) << why;
  return places ? flat_runs(params, *places) : std::vector<FlatRun>{};
}

std::string why_not_flat(const std::vector<OptimizerParam>& params, const std::vector<FlatBuffer>& flat) {
  std::string why;
  EXPECT_FALSE(place_in_flat(params, flat, why).has_value());
  return why;
}

// A transformer block's order: decayed weights alternate with undecayed biases and norm gains, and the
// padding at the end of the buffer joins no run.
TEST(FlatRuns, BreakWhereTheWeightDecayRuleChanges) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 40);
  const std::vector<OptimizerParam> params = {
      param_at(f, "0.word_embeddings", {3, 4}, 0, true), param_at(f, "1.ln_1.weight", {4}, 12, false),
      param_at(f, "1.ln_1.bias", {4}, 16, false),        param_at(f, "1.qkv.weight", {6, 2}, 20, true),
      param_at(f, "1.qkv.bias", {6}, 32, false),
  };
  EXPECT_THAT(runs_of(params, {f}),
              ::testing::ElementsAre(FlatRun{0, 0, 12, true}, FlatRun{0, 12, 20, false},
                                     FlatRun{0, 20, 32, true}, FlatRun{0, 32, 38, false}));
}

TEST(FlatRuns, AllOneRuleBackToBackIsOneRun) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 10);
  const std::vector<OptimizerParam> params = {param_at(f, "a", {2, 2}, 0, true),
                                              param_at(f, "b", {}, 4, true), param_at(f, "c", {5}, 5, true)};
  EXPECT_THAT(runs_of(params, {f}), ::testing::ElementsAre(FlatRun{0, 0, 10, true}));
}

TEST(FlatRuns, AGapOtherBufferOrAttachOrderEndsARun) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 20), g = flat_buffer(*backend, 6);
  const std::vector<OptimizerParam> params = {
      param_at(f, "gap_before_next", {4}, 0, true),
      param_at(f, "after_gap", {4}, 6, true),     // elements 4, 5 unused
      param_at(g, "other_buffer", {3}, 0, true),  // starts at 0 of buffer 1, where buffer 0 left off at 10
      param_at(g, "same_buffer", {3}, 3, true),   // joins it
      param_at(f, "behind_in_attach", {2}, 12, true),
      param_at(f, "before_in_attach", {2}, 10, true),  // ends where the previous one starts: a new run
  };
  EXPECT_THAT(runs_of(params, {f, g}),
              ::testing::ElementsAre(FlatRun{0, 0, 4, true}, FlatRun{0, 6, 10, true}, FlatRun{1, 0, 6, true},
                                     FlatRun{0, 12, 14, true}, FlatRun{0, 10, 12, true}));
}

// An empty slice (a tensor-parallel rank's share of a small parameter can be one) has nothing to update.
TEST(FlatRuns, AnEmptyParameterSplitsNoRun) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 8);
  const std::vector<OptimizerParam> params = {
      param_at(f, "a", {4}, 0, true), param_at(f, "empty", {0}, 4, false), param_at(f, "b", {4}, 4, true)};
  EXPECT_THAT(runs_of(params, {f}), ::testing::ElementsAre(FlatRun{0, 0, 8, true}));
}

// A ZeRO-1 shard: the flat buffer starts inside its allocation; places count from the buffer's start.
TEST(FlatRuns, PlacesCountFromTheFlatBufferNotItsAllocation) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 9, 7);
  const std::vector<OptimizerParam> params = {param_at(f, "a", {4}, 2, true), param_at(f, "b", {3}, 6, true)};
  std::string why;
  const std::optional<std::vector<FlatPlace>> places = place_in_flat(params, {f}, why);
  ASSERT_TRUE(places.has_value()) << why;
  EXPECT_EQ((*places)[0].offset, 2);
  EXPECT_EQ((*places)[1].offset, 6);
  EXPECT_THAT(flat_runs(params, *places), ::testing::ElementsAre(FlatRun{0, 2, 9, true}));
}

TEST(FlatRuns, ParametersOutsideTheFlatBuffersAreNotFlat) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 8);
  std::vector<OptimizerParam> params = {param_at(f, "in_flat", {4}, 0, true)};
  EXPECT_THAT(why_not_flat(params, {}), HasSubstr("'in_flat' is not a contiguous view into one of the 0"));

  OptimizerParam own = param_at(flat_buffer(*backend, 4), "own_buffer", {4}, 0, true);
  params.push_back(own);
  EXPECT_THAT(why_not_flat(params, {f}), HasSubstr("'own_buffer' is not a contiguous view"));

  // In the allocation, but outside the flat buffer given (another rank's shard).
  const Tensor whole_values = backend->empty({16}, DType::f32),
               whole_grads = backend->empty({16}, DType::f32);
  const FlatBuffer shard{whole_values.sub_buffer(8, {8}), whole_grads.sub_buffer(8, {8})};
  OptimizerParam outside;
  outside.name = "other_shard";
  outside.value = whole_values.sub_buffer(2, {4});
  outside.grad = whole_grads.sub_buffer(2, {4});
  EXPECT_THAT(why_not_flat({outside}, {shard}), HasSubstr("'other_shard' lies outside flat buffer 0"));
}

TEST(FlatRuns, ValueAndGradientAtDifferentOffsetsAreNotFlat) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 8);
  std::vector<OptimizerParam> params = {param_at(f, "a", {4}, 0, true), param_at(f, "b", {4}, 4, true)};
  std::swap(params[0].grad, params[1].grad);
  EXPECT_THAT(why_not_flat(params, {f}),
              HasSubstr("'a' has its value at element 0 of flat buffer 0 but its gradient at element 4"));
}

TEST(FlatRuns, ParametersSharingElementsAreNotFlat) {
  auto backend = make_backend();
  const FlatBuffer f = flat_buffer(*backend, 12);
  const std::vector<OptimizerParam> params = {
      param_at(f, "a", {8}, 0, true), param_at(f, "empty", {0}, 3, true), param_at(f, "b", {4}, 6, true)};
  EXPECT_THAT(why_not_flat(params, {f}), HasSubstr("parameters 'a' and 'b' share elements"));
  EXPECT_THAT(why_not_flat({params[0], params[0]}, {f}), HasSubstr("parameters 'a' and 'a' share elements"));
}

}  // namespace
}  // namespace test
}  // namespace mtnlg::optim
