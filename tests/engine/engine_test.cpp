// The engine running a small MLP from the dense-layer plugin with gradient accumulation over 3 micro-batches,
// checked against the same arithmetic written out by hand; schedules, deferred execution and the meta
// backend's accounting checked against it too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "mtnlg/ops.hpp"
#include "mtnlg/rng.hpp"
#include "tensor_values.hpp"
#include "training/recipe_schema.hpp"
#include "training/stage.hpp"

using namespace mtnlg;
using ::testing::HasSubstr;

namespace {

Table load_mlp(host::Registry& registry, const std::vector<std::string>& overrides = {}) {
  registry.load(MTNLG_PLUGIN_DIR, "built-in");
  registry.load(MTNLG_TEST_COMPONENTS, "test");
  return host::resolve_recipe(MTNLG_ENGINE_FIXTURES "/mlp.toml", overrides, registry);
}

// Step `step` (1-based) of the fixture: 3 micro-batches of 2 samples, SGD at lr 0.1.
host::StepRequest request(int step) {
  return {.step = step, .lr = 0.1, .first_sample = (step - 1) * 6, .micro_batches = 3};
}

// The reference: plain loops over the same model.
struct HandMlp {
  static constexpr int kIn = 3, kHidden = 4, kOut = 2;
  std::vector<double> w1, b1, w2, b2;  // (4, 3), (4), (2, 4), (2)

  explicit HandMlp(std::uint64_t seed) : w1(12), b1(4, 0.0), w2(8), b2(2, 0.0) {
    const auto k1 = rng::derive_key(seed, 0, "weight"), k2 = rng::derive_key(seed, 2, "weight");
    for (int i = 0; i < 12; ++i) w1[i] = 0.5 * rng::normal(k1, i);
    for (int i = 0; i < 8; ++i) w2[i] = 0.3 * rng::normal(k2, i);
  }

  static double gelu(double x) {
    return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  }
  static double gelu_grad(double x) {
    const double k = 0.7978845608028654, t = std::tanh(k * (x + 0.044715 * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x);
  }

  // One SGD step over `micro_batches` micro-batches of `micro_batch` samples from `first`; returns the loss.
  double step(std::int64_t first, int micro_batch, int micro_batches, double lr) {
    std::vector<double> gw1(12, 0.0), gb1(4, 0.0), gw2(8, 0.0), gb2(2, 0.0);
    double loss = 0.0;
    for (int m = 0; m < micro_batches; ++m) {
      double mb_loss = 0.0;
      for (int i = 0; i < micro_batch; ++i) {
        const double s = static_cast<double>(first + m * micro_batch + i + 1);
        double x[kIn], h[kHidden], g[kHidden], y[kOut], t[kOut];
        for (int j = 0; j < kIn; ++j) x[j] = std::sin(0.37 * s + 0.11 * (j + 1));
        for (int k = 0; k < kOut; ++k) t[k] = std::cos(0.23 * s - 0.19 * (k + 1));
        for (int a = 0; a < kHidden; ++a) {
          h[a] = b1[a];
          for (int j = 0; j < kIn; ++j) h[a] += w1[a * kIn + j] * x[j];
          g[a] = gelu(h[a]);
        }
        const double n = micro_batch * kOut;
        double dy[kOut];
        for (int k = 0; k < kOut; ++k) {
          y[k] = b2[k];
          for (int a = 0; a < kHidden; ++a) y[k] += w2[k * kHidden + a] * g[a];
          mb_loss += (y[k] - t[k]) * (y[k] - t[k]) / n;
          dy[k] = 2.0 * (y[k] - t[k]) / n / micro_batches;
        }
        for (int a = 0; a < kHidden; ++a) {
          double dg = 0.0;
          for (int k = 0; k < kOut; ++k) {
            gw2[k * kHidden + a] += dy[k] * g[a];
            dg += w2[k * kHidden + a] * dy[k];
          }
          const double dh = dg * gelu_grad(h[a]);
          gb1[a] += dh;
          for (int j = 0; j < kIn; ++j) gw1[a * kIn + j] += dh * x[j];
        }
        for (int k = 0; k < kOut; ++k) gb2[k] += dy[k];
      }
      loss += mb_loss / micro_batches;
    }
    for (int i = 0; i < 12; ++i) w1[i] -= lr * gw1[i];
    for (int i = 0; i < 4; ++i) b1[i] -= lr * gb1[i];
    for (int i = 0; i < 8; ++i) w2[i] -= lr * gw2[i];
    for (int i = 0; i < 2; ++i) b2[i] -= lr * gb2[i];
    return loss;
  }

  // In the engine's flat order: layer 0 weight, bias; layer 2 weight, bias.
  std::vector<double> flat() const {
    std::vector<double> out = w1;
    out.insert(out.end(), b1.begin(), b1.end());
    out.insert(out.end(), w2.begin(), w2.end());
    out.insert(out.end(), b2.begin(), b2.end());
    return out;
  }
};

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double rel) {
  ASSERT_EQ(a.size(), b.size());
  double scale = 0.0;
  for (double v : b) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], rel * scale) << "element " << i;
}

}  // namespace

TEST(Engine, InitialWeightsAreTheLayoutIndependentStreamOfSeedLayerAndName) {
  host::Registry registry;
  host::Stage stage(load_mlp(registry), registry);
  const HandMlp hand(7);
  EXPECT_EQ(tensor_values(stage.backend(), stage.engine().params().flat_buffers()[0].values), hand.flat());
}

// InitSpec::rows: the GPT embedding draws its first vocab_size rows; the rows padding the vocabulary to
// padded_vocab start at zero (and, never read by the loss, stay so), so a checkpoint's padding is empty.
TEST(Engine, VocabularyPaddingRowsStartAtZero) {
  host::Registry registry;
  registry.load(MTNLG_PLUGIN_DIR, "built-in");
  registry.load(MTNLG_TEST_COMPONENTS, "test");
  const Table recipe = host::resolve_recipe(MTNLG_ENGINE_FIXTURES "/recompute_gpt.toml", {}, registry);
  host::Stage stage(recipe, registry);
  for (const host::StoredParam& p : stage.engine().params().params()) {
    if (p.full_name() != "0.word_embeddings") continue;
    const std::vector<double> w = tensor_values(stage.backend(), p.value);  // (32, 16): vocab 29 padded to 32
    const std::size_t real = 29 * 16;
    EXPECT_TRUE(std::all_of(w.begin() + real, w.end(), [](double v) { return v == 0.0; }));
    EXPECT_TRUE(std::all_of(w.begin(), w.begin() + real, [](double v) { return v != 0.0; }));
    return;
  }
  FAIL() << "no 0.word_embeddings";
}

TEST(Engine, TwoStepsWithGradientAccumulationMatchTheArithmeticByHand) {
  host::Registry registry;
  host::Stage stage(load_mlp(registry), registry);
  HandMlp hand(7);
  for (int step = 1; step <= 2; ++step) {
    const std::int64_t first = (step - 1) * 6;
    const auto result = stage.engine().train_step(request(step));
    const double expected = hand.step(first, 2, 3, 0.1);
    EXPECT_NEAR(result.loss, expected, 1e-13 * expected) << "step " << step;
    EXPECT_EQ(result.samples, 6);
  }
  expect_close(tensor_values(stage.backend(), stage.engine().params().flat_buffers()[0].values), hand.flat(),
               1e-13);
}

TEST(Engine, GPipeAnd1F1BGiveBitwiseEqualWeights) {
  // Both accumulate micro-batch gradients in the same order, so the sums are the same to the bit.
  host::Registry r1, r2;
  host::Stage a(load_mlp(r1, {"parallel.schedule=gpipe"}), r1);
  host::Stage b(load_mlp(r2, {"parallel.schedule=1f1b"}), r2);
  EXPECT_NE(a.engine().instructions(3), b.engine().instructions(3));
  for (int step = 1; step <= 2; ++step) {
    EXPECT_EQ(a.engine().train_step(request(step)).loss, b.engine().train_step(request(step)).loss);
  }
  EXPECT_EQ(tensor_values(a.backend(), a.engine().params().flat_buffers()[0].values),
            tensor_values(b.backend(), b.engine().params().flat_buffers()[0].values));
}

TEST(Engine, DeferredBackendGivesBitwiseTheSameResultsSoNoWaitIsMissing) {
  host::Registry r1, r2;
  host::Stage immediate(load_mlp(r1), r1);
  host::Stage deferred(load_mlp(r2, {"backend.deferred=true"}), r2);
  for (int step = 1; step <= 2; ++step) {
    const auto x = immediate.engine().train_step(request(step));
    const auto y = deferred.engine().train_step(request(step));
    EXPECT_EQ(x.loss, y.loss);
    EXPECT_EQ(x.grad_norm, y.grad_norm);
  }
  EXPECT_EQ(tensor_values(immediate.backend(), immediate.engine().params().flat_buffers()[0].values),
            tensor_values(deferred.backend(), deferred.engine().params().flat_buffers()[0].values));
}

TEST(Engine, F32TracksTheF64HandResult) {
  host::Registry registry;
  host::Stage stage(load_mlp(registry, {"train.dtype=f32"}), registry);
  HandMlp hand(7);
  const double loss = stage.engine().train_step(request(1)).loss;
  EXPECT_NEAR(loss, hand.step(0, 2, 3, 0.1), 1e-6);
  expect_close(tensor_values(stage.backend(), stage.engine().params().flat_buffers()[0].values), hand.flat(),
               1e-6);
}

TEST(Engine, MetaBackendAccountsExactlyWhatTheCpuBackendAllocates) {
  host::Registry registry;
  const Table recipe = load_mlp(registry);
  host::Stage cpu(recipe, registry);
  host::Stage meta(recipe, registry, host::StageOptions{"meta"});
  const auto same = [](const AllocStats& a, const AllocStats& b) {
    EXPECT_EQ(a.current_bytes, b.current_bytes);
    EXPECT_EQ(a.peak_bytes, b.peak_bytes);
    EXPECT_EQ(a.total_bytes, b.total_bytes);
    EXPECT_EQ(a.allocations, b.allocations);
  };
  same(cpu.backend().alloc_stats(), meta.backend().alloc_stats());
  cpu.engine().train_step(request(1));
  const auto result = meta.engine().train_step(request(1));
  EXPECT_TRUE(std::isnan(result.loss)) << "the meta backend computes nothing";
  same(cpu.backend().alloc_stats(), meta.backend().alloc_stats());
  EXPECT_GT(meta.backend().alloc_stats().peak_bytes, 0u);
}

TEST(Engine, AnErrorInsideALayerNamesTheLayerAndItsPosition) {
  host::Registry registry;
  const Table recipe = load_mlp(registry, {"model.stack.1.layer=test_throwing"});
  host::Stage stage(recipe, registry);
  try {
    stage.engine().train_step(request(1));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "layer 1 'test_throwing': deliberate failure in forward");
  }
}

TEST(Engine, RefusesAStackThatDoesNotEndInALossLayer) {
  host::Registry registry;
  const Table recipe = load_mlp(registry, {"model.stack.3.layer=gelu"});
  try {
    host::Stage stage(recipe, registry);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("the last layer of the model (layer 3 'gelu') is not a loss layer"));
  }
}
