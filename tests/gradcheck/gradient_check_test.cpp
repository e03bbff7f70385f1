// Every layer, and the whole model, against central finite differences in f64: the analytic backward of each
// layer must give the gradient of L = Σ y ⊙ dy (or of the weighted loss, for the loss layer) with respect to
// its input and every parameter. Dropout is on: its masks are a function of (seed, layer, sample, element),
// so the perturbed forwards see the same masks as the analytic pass.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "mtnlg/ops.hpp"
#include "training/layer_factory.hpp"
#include "training/recipe_schema.hpp"
#include "training/stage.hpp"

using namespace mtnlg;

namespace {

constexpr double kStep = 1e-6;       // central differences: error ~ h² + ε/h ≈ 1e-10 in f64
constexpr double kTolerance = 1e-7;  // relative to the largest gradient of the tensor

Table small_gpt(host::Registry& registry, const std::vector<std::string>& overrides = {}) {
  registry.load(MTNLG_PLUGIN_DIR, "built-in");
  return host::resolve_recipe(MTNLG_GRADCHECK_FIXTURES "/small_gpt.toml", overrides, registry);
}

std::vector<double> to_host(Backend& b, const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  if (!v.empty()) b.download(v.data(), t);
  b.synchronize();
  return v;
}

void from_host(Backend& b, const Tensor& t, const std::vector<double>& v) {
  b.upload(t, v.data());
  b.synchronize();
}

Tensor random_tensor(Backend& b, Shape shape, std::mt19937_64& gen) {
  Tensor t = b.empty(std::move(shape), DType::f64);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (double& x : v) x = normal(gen);
  from_host(b, t, v);
  return t;
}

Tensor random_tokens(Backend& b, Shape shape, std::int64_t vocab, std::mt19937_64& gen) {
  Tensor t = b.empty(std::move(shape), DType::i32);
  std::vector<std::int32_t> v(static_cast<std::size_t>(t.numel()));
  for (auto& x : v) x = static_cast<std::int32_t>(gen() % static_cast<std::uint64_t>(vocab));
  b.upload(t, v.data());
  b.synchronize();
  return t;
}

void expect_gradients_match(const std::vector<double>& analytic, const std::vector<double>& numeric,
                            const std::string& what) {
  ASSERT_EQ(analytic.size(), numeric.size());
  double scale = 1e-3;  // absolute floor, for tensors whose gradient is ~0 everywhere
  for (double v : numeric) scale = std::max(scale, std::abs(v));
  double worst = 0.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    if (std::abs(analytic[i] - numeric[i]) > worst) worst = std::abs(analytic[i] - numeric[i]), at = i;
  }
  EXPECT_LE(worst, kTolerance * scale) << what << ": element " << at << " analytic " << analytic[at]
                                       << " numeric " << numeric[at] << " (scale " << scale << ")";
}

// Central difference of f at each element of tensor t.
std::vector<double> numeric_gradient(Backend& b, const Tensor& t, const std::function<double()>& f) {
  std::vector<double> values = to_host(b, t), grad(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double saved = values[i];
    values[i] = saved + kStep;
    from_host(b, t, values);
    const double up = f();
    values[i] = saved - kStep;
    from_host(b, t, values);
    const double down = f();
    values[i] = saved;
    grad[i] = (up - down) / (2 * kStep);
  }
  from_host(b, t, values);
  return grad;
}

struct LayerCase {
  std::string component;
  std::vector<std::pair<const char*, Value>> keys;
  enum class Input { hidden, qkv, tokens, features } input = Input::hidden;
  std::vector<std::string> overrides = {};  // recipe overrides on top of small_gpt.toml
};

void check_layer(const LayerCase& c) {
  SCOPED_TRACE(c.component);
  host::Registry registry;
  const Table recipe = small_gpt(registry, c.overrides);
  host::Stage stage(recipe, registry);  // for its CPU backend
  Backend& be = stage.backend();
  host::RegistryLayerFactory factory(registry, recipe, &be);
  Table params;
  for (const auto& [k, v] : c.keys) params.set(k, v);
  const auto layer = factory.create_layer(c.component, params, 1, "layer under test");
  host::ParamStore store(be, {layer->parameters()}, {1}, DType::f64, {});
  store.initialize(7);

  std::mt19937_64 gen(42);
  const std::int64_t batch = 2, seq = 5, hidden = 8, vocab = 11;
  // Non-trivial parameters: layernorm gains start at exactly 1 and biases at 0, which would hide mistakes.
  for (const auto& p : store.params()) {
    const Tensor r = random_tensor(be, p.value.shape(), gen);
    be.run(ops::axpy, ops::AxpyArgs{r, p.value, 0.1});
  }
  Tensor x;
  switch (c.input) {
    case LayerCase::Input::hidden:
      x = random_tensor(be, {batch, seq, hidden}, gen);
      break;
    case LayerCase::Input::qkv:
      x = random_tensor(be, {batch, seq, 3 * hidden}, gen);
      break;
    case LayerCase::Input::tokens:
      x = random_tokens(be, {batch, seq}, vocab, gen);
      break;
    case LayerCase::Input::features:
      x = random_tensor(be, {batch, seq, 3}, gen);
      break;
  }
  const Tensor targets = random_tokens(be, {batch, seq}, vocab, gen);
  const bool loss = layer->is_loss();
  const double loss_weight = 0.7;
  const LayerStep step{be, store.layer_params(0), loss ? &targets : nullptr, 0, 5, true, true, loss_weight};

  // L(x, θ) = Σ y ⊙ dy, or loss_weight · loss for the loss layer.
  Tensor dy;
  const auto objective = [&] {
    SavedState saved;
    const std::vector<double> y = to_host(be, layer->forward(step, x, saved));
    if (loss) return loss_weight * y[0];
    if (!dy.defined()) dy = random_tensor(be, Shape(layer->forward(step, x, saved).shape()), gen);
    const std::vector<double> w = to_host(be, dy);
    double s = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * w[i];
    return s;
  };
  objective();  // fixes dy

  store.zero_grads();
  SavedState saved;
  layer->forward(step, x, saved);
  const Tensor dx = layer->backward(step, dy, saved);
  for (const auto& p : store.params())
    expect_gradients_match(to_host(be, p.grad), numeric_gradient(be, p.value, objective),
                           "parameter " + p.spec.name);
  if (c.input != LayerCase::Input::tokens)
    expect_gradients_match(to_host(be, dx), numeric_gradient(be, x, objective), "input");
}

}  // namespace

TEST(GradientCheck, Linear) {
  check_layer({"linear", {{"in", Value(3)}, {"out", Value(4)}}, LayerCase::Input::features});
}
TEST(GradientCheck, Gelu) {
  check_layer({"gelu", {}, LayerCase::Input::hidden});
}
TEST(GradientCheck, LayerNorm) {
  check_layer({"layernorm", {}, LayerCase::Input::hidden});
}
TEST(GradientCheck, Embedding) {
  check_layer({"embedding", {}, LayerCase::Input::tokens});
}
TEST(GradientCheck, AttentionCore) {
  check_layer({"causal_attention_core", {}, LayerCase::Input::qkv});
}
// Without attention dropout the core takes the fused flash_attention path (the CPU backend has it).
TEST(GradientCheck, AttentionCoreFused) {
  check_layer({"causal_attention_core", {}, LayerCase::Input::qkv, {"model.attention_dropout=0.0"}});
}
// Selective recomputation: the backward recomputes the probabilities and their dropout from q and k.
TEST(GradientCheck, AttentionCoreSelectiveRecomputation) {
  check_layer({"causal_attention_core", {}, LayerCase::Input::qkv, {"train.recompute=selective"}});
}
TEST(GradientCheck, SelfAttention) {
  check_layer({"causal_self_attention", {}, LayerCase::Input::hidden});
}
TEST(GradientCheck, Mlp) {
  check_layer({"gelu_mlp", {}, LayerCase::Input::hidden});
}
TEST(GradientCheck, TransformerBlock) {
  check_layer({"transformer_block", {}, LayerCase::Input::hidden});
}
TEST(GradientCheck, LmHead) {
  check_layer({"lm_head", {}, LayerCase::Input::hidden});
}

// causal_attention_core's output and input gradient for fixed qkv and dy, and whether the forward took the
// fused path (it saves lse).
struct CoreResult {
  std::vector<double> y, dx;
  bool fused = false;
};
CoreResult run_attention_core(const std::string& attention_dropout) {
  host::Registry registry;
  const Table recipe = small_gpt(registry, {"model.attention_dropout=" + attention_dropout});
  host::Stage stage(recipe, registry);
  Backend& be = stage.backend();
  host::RegistryLayerFactory factory(registry, recipe, &be);
  const auto layer = factory.create_layer("causal_attention_core", Table{}, 1, "layer under test");
  host::ParamStore store(be, {layer->parameters()}, {1}, DType::f64, {});
  std::mt19937_64 gen(42);
  const Tensor qkv = random_tensor(be, {2, 5, 24}, gen), dy = random_tensor(be, {2, 5, 8}, gen);
  const LayerStep step{be, store.layer_params(0), nullptr, 0, 5, true, true, 1.0};
  SavedState saved;
  CoreResult result;
  result.y = to_host(be, layer->forward(step, qkv, saved));
  result.fused = saved.contains("lse");
  result.dx = to_host(be, layer->backward(step, dy, saved));
  return result;
}

void expect_same_within_rounding(const std::vector<double>& got, const std::vector<double>& ref,
                                 const std::string& what) {
  ASSERT_EQ(got.size(), ref.size());
  double scale = 1.0, worst = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    scale = std::max(scale, std::abs(ref[i]));
    worst = std::max(worst, std::abs(got[i] - ref[i]));
  }
  EXPECT_LE(worst, 1e-12 * scale) << what;
}

// The fused path computes what the unfused one does. attention_dropout = 1e-300 keeps the unfused path
// (dropout is active) but drops nothing: every draw is at least 2⁻⁵³ > p, and 1/(1 − p) is exactly 1.
TEST(AttentionCoreFusedPath, MatchesTheUnfusedPath) {
  const CoreResult fused = run_attention_core("0.0"), unfused = run_attention_core("1e-300");
  ASSERT_TRUE(fused.fused);
  ASSERT_FALSE(unfused.fused);
  expect_same_within_rounding(fused.y, unfused.y, "y");
  expect_same_within_rounding(fused.dx, unfused.dx, "dqkv");
}

// The whole GPT through the engine: embedding, 2 blocks, final norm, tied LM head; dropout on; 2
// micro-batches.
void check_whole_model(std::vector<std::string> overrides) {
  overrides.push_back("train.global_batch=4");
  host::Registry registry;
  host::Stage stage(small_gpt(registry, overrides), registry);
  Backend& be = stage.backend();
  const host::StepRequest request{.step = 1, .lr = 0.0, .first_sample = 3, .micro_batches = 2};
  const auto loss = [&] { return stage.engine().train_step(request).loss; };
  loss();  // SGD at lr 0 leaves the weights alone; the gradients stay in the buffer until the next step
  const FlatBuffer flat = stage.engine().params().flat_buffers()[0];
  const std::vector<double> analytic = to_host(be, flat.grads);
  expect_gradients_match(analytic, numeric_gradient(be, flat.values, loss), "all parameters");
  // The padded vocabulary rows (11..15 of the tied embedding) get no gradient at all.
  const auto& table = stage.engine().params().params()[0];
  ASSERT_EQ(table.spec.name, "word_embeddings");
  const std::vector<double> g = to_host(be, table.grad);
  for (std::size_t i = 11 * 8; i < g.size(); ++i) ASSERT_EQ(g[i], 0.0) << "padded row element " << i;
}

TEST(GradientCheck, WholeModelThroughTheEngine) {
  check_whole_model({});
}
// Block 0's forward runs again before its backward (engine), block 1 keeps its state.
TEST(GradientCheck, WholeModelWithFullRecomputationOfEveryOtherBlock) {
  check_whole_model({"train.recompute=full", "train.recompute_interval=2"});
}
