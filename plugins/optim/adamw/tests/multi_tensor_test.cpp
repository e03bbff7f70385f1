// The multi-tensor update against the per-parameter one, on the reference CPU backend: the same bits, one
// `adamw` op per run of parameters, moments that checkpoints see per parameter, and the per-parameter
// fallback for parameters that are not views into the flat buffers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "adamw_fixture.hpp"

namespace mtnlg::optim::test {
namespace {

// One declared parameter; `gap` unused elements come before it in the flat buffer.
struct Decl {
  std::string name;
  Shape shape;
  bool decay = true;
  std::int64_t gap = 0;
};

// Mixed weight-decay rules in a transformer's order, a scalar, and a gap between two decayed weights. The
// multi-tensor runs: word+position embeddings | ln_1 weight+bias | qkv.weight | qkv.bias | proj.weight |
// proj.bias+gain | 3.weight | (gap) 4.weight.
const std::vector<Decl> kModel = {
    {"0.word_embeddings", {6, 4}, true},
    {"0.position_embeddings", {3, 4}, true},
    {"1.ln_1.weight", {4}, false},
    {"1.ln_1.bias", {4}, false},
    {"1.qkv.weight", {12, 4}, true},
    {"1.qkv.bias", {12}, false},
    {"1.proj.weight", {4, 4}, true},
    {"1.proj.bias", {4}, false},
    {"2.gain", {}, false},
    {"3.weight", {3, 5}, true},
    {"4.weight", {5, 2}, true, 3},
};
constexpr std::int64_t kModelRuns = 8;

// A model's parameters as the host lays them out: views back to back into one flat buffer of values and one
// of gradients, `padding` elements at the end (ZeRO-1 pads to a multiple of the data-parallel size), the
// buffer `lead` elements into its allocation (as a ZeRO-1 shard is). Padding and gaps hold values and
// gradients of their own, which no update may touch.
struct FlatModel {
  FlatBuffer flat;
  std::vector<OptimizerParam> params;
};

template <class T>
FlatModel make_model(Backend& backend, const std::vector<Decl>& decls, std::int64_t padding,
                     std::int64_t lead = 0) {
  std::vector<std::int64_t> offsets;
  std::int64_t total = 0;
  for (const Decl& d : decls) {
    total += d.gap;
    offsets.push_back(total);
    total += shape_numel(d.shape);
  }
  total += padding;
  FlatModel model;
  model.flat = {backend.empty({lead + total}, dtype_of<T>()).sub_buffer(lead, {total}),
                backend.empty({lead + total}, dtype_of<T>()).sub_buffer(lead, {total})};
  upload_into<T>(backend, model.flat.values, values(static_cast<std::size_t>(total), 0.3));
  std::vector<double> far_off = values(static_cast<std::size_t>(total), 2.9);
  for (double& g : far_off) g *= 100.0;
  upload_into<T>(backend, model.flat.grads, far_off);
  for (std::size_t i = 0; i < decls.size(); ++i) {
    OptimizerParam p;
    p.name = decls[i].name;
    p.spec.name = decls[i].name;
    p.spec.shape = decls[i].shape;
    p.spec.weight_decay = decls[i].decay;
    p.value = model.flat.values.sub_buffer(offsets[i], decls[i].shape);
    p.grad = model.flat.grads.sub_buffer(offsets[i], decls[i].shape);
    model.params.push_back(std::move(p));
  }
  return model;
}

// Step t's gradient of each parameter, of several magnitudes and with one exact zero (v stays 0 there).
template <class T>
void set_grads(Backend& backend, const std::vector<OptimizerParam>& params, std::int64_t t) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    std::vector<double> g =
        values(static_cast<std::size_t>(params[i].grad.numel()), 0.7 * static_cast<double>(t + i));
    if (!g.empty()) g[0] = 0.0;
    upload_into<T>(backend, params[i].grad, g);
  }
}

double lr_at(std::int64_t t) {
  return 1e-2 * (0.4 + 0.2 * static_cast<double>(t));
}

template <class T>
void run_steps(Backend& backend, AdamWOptimizer& opt, const std::vector<OptimizerParam>& params,
               std::int64_t first, std::int64_t last) {
  for (std::int64_t t = first; t <= last; ++t) {
    set_grads<T>(backend, params, t);
    opt.step(backend, OptimizerStep{t, lr_at(t)});
    backend.synchronize();
  }
}

// A tensor's elements as bit patterns: equal means bitwise equal (0.0 and -0.0 differ, NaNs compare).
template <class T>
auto bits(Backend& backend, const Tensor& t) {
  using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  std::vector<T> raw(static_cast<std::size_t>(t.numel()));
  backend.download(raw.data(), t);
  backend.synchronize();
  std::vector<Bits> out;
  for (T x : raw) out.push_back(std::bit_cast<Bits>(x));
  return out;
}

// Each parameter's value and moments are bitwise the same in both.
template <class T>
void expect_same_bits(Backend& backend, const std::vector<OptimizerParam>& a_params, const AdamWOptimizer& a,
                      const std::vector<OptimizerParam>& b_params, const AdamWOptimizer& b,
                      const std::string& when) {
  ASSERT_EQ(a_params.size(), b_params.size());
  ASSERT_EQ(a.moments().size(), a_params.size());
  ASSERT_EQ(b.moments().size(), b_params.size());
  for (std::size_t i = 0; i < a_params.size(); ++i) {
    EXPECT_EQ(bits<T>(backend, a_params[i].value), bits<T>(backend, b_params[i].value))
        << a_params[i].name << " " << when;
    EXPECT_EQ(bits<T>(backend, a.moments()[i].m), bits<T>(backend, b.moments()[i].m))
        << a_params[i].name << " exp_avg " << when;
    EXPECT_EQ(bits<T>(backend, a.moments()[i].v), bits<T>(backend, b.moments()[i].v))
        << a_params[i].name << " exp_avg_sq " << when;
  }
}

// (a) Over several steps, the multi-tensor update (attached with the flat buffer) and the per-parameter one
// (the same layout attached without it) give the same bits; padding and gaps keep their values.
template <class T>
void expect_multi_tensor_matches_per_parameter(std::int64_t lead) {
  auto backend = make_backend();
  const FlatModel multi = make_model<T>(*backend, kModel, 5, lead);
  const FlatModel single = make_model<T>(*backend, kModel, 5, lead);
  const std::vector<double> before = download<T>(*backend, multi.flat.values);
  auto multi_opt = make_adamw(Keys{});
  auto single_opt = make_adamw(Keys{});
  multi_opt->attach(*backend, multi.params, {multi.flat});
  single_opt->attach(*backend, single.params, {});
  for (std::int64_t t = 1; t <= 4; ++t) {
    run_steps<T>(*backend, *multi_opt, multi.params, t, t);
    run_steps<T>(*backend, *single_opt, single.params, t, t);
    expect_same_bits<T>(*backend, multi.params, *multi_opt, single.params, *single_opt,
                        "after step " + std::to_string(t));
  }
  const std::vector<double> after = download<T>(*backend, multi.flat.values);
  EXPECT_EQ(bits<T>(*backend, multi.flat.values), bits<T>(*backend, single.flat.values));
  // The gap before 4.weight and the padding: the last 3 + 10 + 5 elements hold 3 gap, 10 weight, 5 padding.
  const std::size_t n = after.size();
  for (std::size_t i = n - 18; i < n - 15; ++i) EXPECT_EQ(after[i], before[i]) << "gap element " << i;
  for (std::size_t i = n - 5; i < n; ++i) EXPECT_EQ(after[i], before[i]) << "padding element " << i;
  // And the update did happen, everywhere else.
  EXPECT_NE(after[0], before[0]);
}

TEST(AdamWMultiTensor, MatchesPerParameterBitwiseF32) {
  expect_multi_tensor_matches_per_parameter<float>(0);
}
TEST(AdamWMultiTensor, MatchesPerParameterBitwiseF64) {
  expect_multi_tensor_matches_per_parameter<double>(0);
}
TEST(AdamWMultiTensor, MatchesPerParameterBitwiseInAShard) {
  expect_multi_tensor_matches_per_parameter<float>(7);
}

// (b) The adamw ops a step queues, counted by the cpu backend's profile.
std::int64_t adamw_ops_per_step(const std::vector<Decl>& decls, bool attach_flat, std::int64_t lead = 0) {
  auto backend = make_backend(true);
  const FlatModel model = make_model<float>(*backend, decls, 3, lead);
  auto opt = make_adamw(Keys{});
  opt->attach(*backend, model.params,
              attach_flat ? std::vector<FlatBuffer>{model.flat} : std::vector<FlatBuffer>{});
  const std::int64_t before = op_calls(*backend, "adamw");
  run_steps<float>(*backend, *opt, model.params, 1, 1);
  const std::int64_t one = op_calls(*backend, "adamw") - before;
  run_steps<float>(*backend, *opt, model.params, 2, 2);
  EXPECT_EQ(op_calls(*backend, "adamw") - before, 2 * one) << "every step queues the same ops";
  return one;
}

TEST(AdamWMultiTensor, QueuesOneOpPerRun) {
  EXPECT_EQ(adamw_ops_per_step(kModel, true), kModelRuns);
  EXPECT_EQ(adamw_ops_per_step(kModel, true, 7), kModelRuns) << "a shard, 7 elements into its allocation";
  EXPECT_EQ(adamw_ops_per_step(kModel, false), static_cast<std::int64_t>(kModel.size()));
  const std::vector<Decl> all_decayed = {{"0.a", {4, 4}, true}, {"0.b", {3}, true}, {"1.a", {2, 5}, true}};
  EXPECT_EQ(adamw_ops_per_step(all_decayed, true), 1);
  const std::vector<Decl> alternating = {
      {"0.w", {2, 2}, true}, {"0.b", {2}, false}, {"1.w", {2, 2}, true}, {"1.b", {2}, false}};
  EXPECT_EQ(adamw_ops_per_step(alternating, true), 4);
}

// (c) state() is per parameter, of its shape, and restoring into it (as a checkpoint does) restores the flat
// moments the runs update: a resumed optimizer continues with the same bits as one that never stopped.
TEST(AdamWMultiTensor, StateIsPerParameterAndRestoresTheFlatMoments) {
  auto backend = make_backend();
  const FlatModel model = make_model<float>(*backend, kModel, 5);
  auto opt = make_adamw(Keys{});
  opt->attach(*backend, model.params, {model.flat});
  const std::vector<OptimizerState> state = opt->state();
  ASSERT_EQ(state.size(), 2 * kModel.size());
  for (std::size_t k = 0; k < state.size(); ++k) {
    const OptimizerParam& p = model.params[k / 2];
    EXPECT_EQ(state[k].param, k / 2);
    EXPECT_EQ(state[k].kind, k % 2 == 0 ? "adamw.exp_avg" : "adamw.exp_avg_sq") << p.name;
    EXPECT_EQ(state[k].tensor.shape(), p.spec.shape) << p.name;
    EXPECT_EQ(state[k].tensor.dtype(), DType::f32) << p.name;
    EXPECT_TRUE(state[k].tensor.is_contiguous()) << p.name;
  }
  run_steps<float>(*backend, *opt, model.params, 1, 2);

  // The checkpoint after step 2, and a resumed run: the parameters and the state uploaded into a fresh
  // optimizer's state() tensors.
  std::vector<std::vector<double>> saved;
  for (const OptimizerState& s : opt->state()) saved.push_back(download<float>(*backend, s.tensor));
  const FlatModel resumed = make_model<float>(*backend, kModel, 5);
  upload_into<float>(*backend, resumed.flat.values, download<float>(*backend, model.flat.values));
  auto resumed_opt = make_adamw(Keys{});
  resumed_opt->attach(*backend, resumed.params, {resumed.flat});
  const std::vector<OptimizerState> restore = resumed_opt->state();
  ASSERT_EQ(restore.size(), saved.size());
  for (std::size_t k = 0; k < restore.size(); ++k) upload_into<float>(*backend, restore[k].tensor, saved[k]);
  expect_same_bits<float>(*backend, model.params, *opt, resumed.params, *resumed_opt, "after restoring");

  const std::vector<double> step2 = download<float>(*backend, model.flat.values);
  run_steps<float>(*backend, *opt, model.params, 3, 4);
  run_steps<float>(*backend, *resumed_opt, resumed.params, 3, 4);
  expect_same_bits<float>(*backend, model.params, *opt, resumed.params, *resumed_opt,
                          "two steps after resuming");

  // The test's own check: had the restore not reached the flat moments, the resumed run would have gone on
  // from zero moments, and that gives other parameters.
  const FlatModel unrestored = make_model<float>(*backend, kModel, 5);
  upload_into<float>(*backend, unrestored.flat.values, step2);
  auto unrestored_opt = make_adamw(Keys{});
  unrestored_opt->attach(*backend, unrestored.params, {unrestored.flat});
  run_steps<float>(*backend, *unrestored_opt, unrestored.params, 3, 4);
  EXPECT_NE(bits<float>(*backend, unrestored.params[0].value),
            bits<float>(*backend, resumed.params[0].value));
}

// (d) Parameters that are not views into the flat buffers at the same offsets get one op each: the same
// bits as the same parameters attached without flat buffers, and, where they are the model's parameters
// rearranged, as the multi-tensor update of the model laid out as the host does.
template <class Rearrange>
void expect_per_parameter_fallback(Rearrange rearrange, std::int64_t expected_ops) {
  auto backend = make_backend(true);
  FlatModel odd = make_model<float>(*backend, kModel, 5), odd_alone = make_model<float>(*backend, kModel, 5);
  const FlatModel flat = make_model<float>(*backend, kModel, 5);
  rearrange(*backend, odd);
  rearrange(*backend, odd_alone);
  auto odd_opt = make_adamw(Keys{}), alone_opt = make_adamw(Keys{}), flat_opt = make_adamw(Keys{});
  odd_opt->attach(*backend, odd.params, {odd.flat});
  alone_opt->attach(*backend, odd_alone.params, {});
  flat_opt->attach(*backend, flat.params, {flat.flat});
  for (std::int64_t t = 1; t <= 3; ++t) {
    const std::int64_t before = op_calls(*backend, "adamw");
    run_steps<float>(*backend, *odd_opt, odd.params, t, t);
    EXPECT_EQ(op_calls(*backend, "adamw") - before, expected_ops) << "step " << t;
    run_steps<float>(*backend, *alone_opt, odd_alone.params, t, t);
    run_steps<float>(*backend, *flat_opt, flat.params, t, t);
    const std::string when = "after step " + std::to_string(t);
    expect_same_bits<float>(*backend, odd.params, *odd_opt, odd_alone.params, *alone_opt, when);
    if (odd.params.size() == flat.params.size())
      expect_same_bits<float>(*backend, odd.params, *odd_opt, flat.params, *flat_opt, when);
  }
}

TEST(AdamWMultiTensor, FallsBackWhenAParameterIsOutsideTheFlatBuffers) {
  const auto n = static_cast<std::int64_t>(kModel.size());
  // One parameter moved to an allocation of its own, with the same values.
  expect_per_parameter_fallback(
      [](Backend& backend, FlatModel& m) {
        OptimizerParam& p = m.params[4];
        const Tensor value = backend.empty(p.value.shape(), DType::f32);
        upload_into<float>(backend, value, download<float>(backend, p.value));
        p.value = value;
        p.grad = backend.empty(p.grad.shape(), DType::f32);
      },
      n);
  // All of them.
  expect_per_parameter_fallback(
      [](Backend& backend, FlatModel& m) {
        for (OptimizerParam& p : m.params) {
          const Tensor value = backend.empty(p.value.shape(), DType::f32);
          upload_into<float>(backend, value, download<float>(backend, p.value));
          p.value = value;
          p.grad = backend.empty(p.grad.shape(), DType::f32);
        }
      },
      n);
}

// ln_1's weight and bias have the same shape: swapped gradients are each at the other's offset. A run over
// the flat buffers would pair each value with the other's gradient.
TEST(AdamWMultiTensor, FallsBackWhenGradientsAreLaidOutOtherwise) {
  expect_per_parameter_fallback([](Backend&, FlatModel& m) { std::swap(m.params[2].grad, m.params[3].grad); },
                                static_cast<std::int64_t>(kModel.size()));
}

// The same parameter attached twice shares its elements with itself: each copy gets its own moments and op.
TEST(AdamWMultiTensor, FallsBackWhenParametersShareElements) {
  expect_per_parameter_fallback([](Backend&, FlatModel& m) { m.params = {m.params[0], m.params[0]}; }, 2);
}

}  // namespace
}  // namespace mtnlg::optim::test
