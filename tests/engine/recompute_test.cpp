// Activation recomputation (train.recompute): full (every block, or one in recompute_interval) and selective
// (the attention core) give exactly the gradients of no recomputation — bitwise, in f64 and f32, with
// hidden and attention dropout on, under both single-stage schedules — because the second forward draws the
// same dropout masks and runs the same deterministic kernels. And they are not a no-op: each lowers the
// stage's peak memory, a recomputed forward with other masks is caught, and the meta backend (`mtnlg
// check`) accounts for them exactly as the CPU backend allocates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "mtnlg/str.hpp"
#include "tensor_values.hpp"
#include "training/metrics_log.hpp"
#include "training/recipe_schema.hpp"
#include "training/recompute_policy.hpp"
#include "training/stage.hpp"

using namespace mtnlg;

namespace {

Table gpt(host::Registry& registry, const std::vector<std::string>& overrides) {
  registry.load(MTNLG_PLUGIN_DIR, "built-in");
  return host::resolve_recipe(MTNLG_ENGINE_FIXTURES "/recompute_gpt.toml", overrides, registry);
}

constexpr host::StepRequest kStep{.step = 1, .lr = 0.0, .first_sample = 10, .micro_batches = 3};

struct StepOutcome {
  double loss = 0.0;
  std::vector<double> grads;
  std::size_t activation_peak = 0;  // backend bytes above those live before the step
};

StepOutcome run_step(const std::vector<std::string>& overrides) {
  host::Registry registry;
  host::Stage stage(gpt(registry, overrides), registry);
  const AllocStats before = stage.backend().alloc_stats();
  StepOutcome out;
  out.loss = stage.engine().train_step(kStep).loss;
  out.activation_peak = stage.backend().alloc_stats().peak_bytes - before.current_bytes;
  out.grads = tensor_values(stage.backend(), stage.engine().params().flat_buffers()[0].grads);
  return out;
}

std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

struct Case {
  const char* name;
  std::vector<std::string> overrides;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class RecomputeGradients : public ::testing::TestWithParam<Case> {};

TEST_P(RecomputeGradients, EqualNoRecomputationBitwise) {
  const StepOutcome none = run_step(GetParam().overrides);
  for (const std::vector<std::string>& mode : {std::vector<std::string>{"train.recompute=full"},
                                               {"train.recompute=full", "train.recompute_interval=2"},
                                               {"train.recompute=selective"}}) {
    SCOPED_TRACE(mode.back());
    const StepOutcome r = run_step(with(GetParam().overrides, mode));
    EXPECT_EQ(r.loss, none.loss);
    ASSERT_EQ(r.grads.size(), none.grads.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < r.grads.size(); ++i) differing += r.grads[i] != none.grads[i];
    EXPECT_EQ(differing, 0u) << "of " << r.grads.size() << " gradient elements";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Recompute, RecomputeGradients,
    ::testing::Values(Case{"f64_1f1b", {}}, Case{"f32_1f1b", {"train.dtype=f32"}},
                      Case{"f64_gpipe", {"parallel.schedule=gpipe"}},
                      Case{"f32_gpipe", {"train.dtype=f32", "parallel.schedule=gpipe"}},
                      // Kernels queued until synchronize(): a rerun must not read a buffer freed too early.
                      Case{"f64_deferred", {"backend.deferred=true"}},
                      // No attention dropout: the core's fused path, which saves no (T, T) tensor.
                      Case{"f32_fused_attention", {"train.dtype=f32", "model.attention_dropout=0.0"}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// The check above can fail: a recomputed forward that draws other dropout masks (the next micro-batch's)
// changes the gradients.
TEST(Recompute, ARecomputedForwardWithOtherDropoutMasksIsCaught) {
  const StepOutcome none = run_step({});
  ::setenv("MTNLG_PLANT_BUG", "recompute-other-dropout", 1);
  const StepOutcome bad = run_step({"train.recompute=full"});
  ::unsetenv("MTNLG_PLANT_BUG");
  EXPECT_EQ(bad.loss, none.loss) << "the first forward is untouched";
  EXPECT_NE(bad.grads, none.grads);
}

TEST(Recompute, EachModeLowersThePeakActivationMemory) {
  const std::size_t none = run_step({}).activation_peak;
  const std::size_t full = run_step({"train.recompute=full"}).activation_peak;
  const std::size_t half = run_step({"train.recompute=full", "train.recompute_interval=2"}).activation_peak;
  const std::size_t selective = run_step({"train.recompute=selective"}).activation_peak;
  EXPECT_LT(full, half);
  EXPECT_LT(half, none);
  EXPECT_LT(selective, none);
}

TEST(Recompute, IntervalMarksEveryNthBlockCountedFromTheFirstBlock) {
  host::Registry registry;
  host::Stage stage(gpt(registry, {"train.recompute=full", "train.recompute_interval=2"}), registry);
  const host::ChunkLayers& chunk = stage.engine().chunks()[0];
  // embedding, blocks 0-3, final layernorm, LM head.
  EXPECT_EQ(chunk.recompute, (std::vector<bool>{false, true, false, true, false, false, false}));
}

TEST(Recompute, MetaBackendAccountsExactlyWhatTheCpuBackendAllocates) {
  for (const char* mode : {"full", "selective"}) {
    SCOPED_TRACE(mode);
    host::Registry registry;
    const Table recipe = gpt(registry, {str("train.recompute=", mode)});
    host::Stage cpu(recipe, registry);
    host::Stage meta(recipe, registry, host::StageOptions{"meta"});
    cpu.engine().train_step(kStep);
    meta.engine().train_step(kStep);
    const AllocStats c = cpu.backend().alloc_stats(), m = meta.backend().alloc_stats();
    EXPECT_EQ(c.peak_bytes, m.peak_bytes);
    EXPECT_EQ(c.current_bytes, m.current_bytes);
    EXPECT_EQ(c.allocations, m.allocations);
  }
}

TEST(Recompute, PolicyDescribesItselfAndCountsRecomputedBlocks) {
  const host::RecomputePolicy every{host::RecomputeMode::full, 1}, third{host::RecomputeMode::full, 3};
  EXPECT_EQ(every.describe(), "full (every block)");
  EXPECT_EQ(third.describe(), "full (one block in 3)");
  EXPECT_EQ(every.full_blocks(8), 8);
  EXPECT_EQ(third.full_blocks(8), 3);  // blocks 0, 3, 6
  EXPECT_EQ((host::RecomputePolicy{host::RecomputeMode::selective, 1}.full_blocks(8)), 0);
}

// Narayanan et al. (2021), eq. 3: with every block recomputed an iteration costs
// 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)); without, 72·B·s·l·h²·(1 + s/(6h) + V/(12·l·h)).
TEST(RecomputeFlops, FullRecomputationIsFourForwardPassesOfEveryBlock) {
  const double B = 8, s = 2048, l = 24, h = 2048, V = 51200;
  const double model = host::gpt_flops_per_iteration(B, s, l, h, V);
  const double hardware = model + host::gpt_recompute_flops_per_iteration(B, s, h, l, 0);
  EXPECT_NEAR(hardware, 96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h)), 1e-12 * hardware);
  // Selective: the attention core's q·kᵀ and P·v once more, 4·B·s²·h per block.
  EXPECT_NEAR(host::gpt_recompute_flops_per_iteration(B, s, h, 0, l), 4 * B * s * s * h * l, 1e-3);
}

}  // namespace
