// AdamW against a reference written here in f64, on the reference CPU backend, and the errors a bad recipe
// gets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/str.hpp"

#include "adamw_fixture.hpp"
#include "adamw_optimizer.hpp"

namespace mtnlg::optim::test {
namespace {

using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;
using ::testing::ThrowsMessage;

// The reference: one parameter's AdamW state in f64, the formula of ops.hpp written out.
struct RefParam {
  std::vector<double> p, m, v;
  bool decay;

  void step(const std::vector<double>& g, const Keys& k, double lr, std::int64_t t) {
    const double c1 = 1.0 - std::pow(k.beta1, static_cast<double>(t));
    const double c2 = 1.0 - std::pow(k.beta2, static_cast<double>(t));
    const double wd = decay ? k.weight_decay : 0.0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      m[i] = k.beta1 * m[i] + (1.0 - k.beta1) * g[i];
      v[i] = k.beta2 * v[i] + (1.0 - k.beta2) * g[i] * g[i];
      const double m_hat = m[i] / c1, v_hat = v[i] / c2;
      p[i] = p[i] - lr * (m_hat / (std::sqrt(v_hat) + k.eps) + wd * p[i]);
    }
  }
};

template <class T>
void expect_three_steps_match_reference() {
  const double tol = sizeof(T) == 8 ? 1e-12 : 1e-5;
  auto backend = make_backend();
  const Keys keys;
  auto opt = make_adamw(keys);

  const Shape w_shape{3, 4}, b_shape{5};
  auto rounded = [](std::vector<double> v) {
    for (double& x : v) x = static_cast<double>(static_cast<T>(x));
    return v;
  };
  std::vector<RefParam> ref = {
      {rounded(values(12, 0.3)), std::vector<double>(12), std::vector<double>(12), true},
      {rounded(values(5, 1.1)), std::vector<double>(5), std::vector<double>(5), false},
  };
  std::vector<OptimizerParam> params(2);
  params[0].name = "0.weight";
  params[0].spec.name = "weight";
  params[0].spec.shape = w_shape;
  params[0].spec.weight_decay = true;
  params[1].name = "0.bias";
  params[1].spec.name = "bias";
  params[1].spec.shape = b_shape;
  params[1].spec.weight_decay = false;
  params[0].value = upload<T>(*backend, w_shape, ref[0].p);
  params[1].value = upload<T>(*backend, b_shape, ref[1].p);
  params[0].grad = backend->empty(w_shape, dtype_of<T>());
  params[1].grad = backend->empty(b_shape, dtype_of<T>());
  opt->attach(*backend, params, {});

  ASSERT_EQ(opt->moments().size(), 2u);
  for (const auto& s : opt->moments()) {
    EXPECT_EQ(s.m.dtype(), dtype_of<T>());
    EXPECT_EQ(s.v.dtype(), dtype_of<T>());
  }
  EXPECT_EQ(opt->base_lr(), keys.lr);

  const double lrs[] = {4e-3, 1e-2, 7e-3};  // as a warm-up and decay would hand them over
  for (std::int64_t t = 1; t <= 3; ++t) {
    for (std::size_t j = 0; j < ref.size(); ++j) {
      // Gradients of several magnitudes, one of them exactly zero (v stays 0 there: eps keeps it finite).
      std::vector<double> g = rounded(values(ref[j].p.size(), 0.7 * static_cast<double>(t) + j));
      g[0] = 0.0;
      backend->upload(params[j].grad, std::vector<T>(g.begin(), g.end()).data());
      backend->synchronize();
      ref[j].step(g, keys, lrs[t - 1], t);
    }
    opt->step(*backend, OptimizerStep{t, lrs[t - 1]});
    backend->synchronize();
    for (std::size_t j = 0; j < ref.size(); ++j) {
      const std::vector<double> got = download<T>(*backend, params[j].value);
      const std::vector<double> m = download<T>(*backend, opt->moments()[j].m);
      for (std::size_t i = 0; i < got.size(); ++i) {
        // Relative to the parameter, but never below lr (an update's size) so a near-zero parameter does
        // not demand absolute precision.
        EXPECT_NEAR(got[i], ref[j].p[i], tol * std::max(std::abs(ref[j].p[i]), lrs[t - 1]))
            << params[j].name << "[" << i << "] after step " << t;
        EXPECT_NEAR(m[i], ref[j].m[i], tol * std::max(std::abs(ref[j].m[i]), 1e-3))
            << params[j].name << " m[" << i << "] after step " << t;
      }
    }
  }
}

TEST(AdamW, MatchesReferenceOverThreeStepsF64) {
  expect_three_steps_match_reference<double>();
}
TEST(AdamW, MatchesReferenceOverThreeStepsF32) {
  expect_three_steps_match_reference<float>();
}

// Weight decay alone: with a zero gradient the moments stay 0 and only the decayed parameter moves,
// θ ← θ·(1 − lr·wd); the bias is untouched.
TEST(AdamW, WeightDecaySkipsParametersDeclaredWithoutIt) {
  auto backend = make_backend();
  Keys keys;
  keys.weight_decay = 0.5;
  auto opt = make_adamw(keys);
  std::vector<OptimizerParam> params(2);
  params[0].name = "0.weight";
  params[0].spec.weight_decay = true;
  params[1].name = "0.norm_gain";
  params[1].spec.weight_decay = false;
  for (auto& p : params) {
    p.value = upload<double>(*backend, {4}, {1.0, -2.0, 3.0, -4.0});
    p.grad = upload<double>(*backend, {4}, {0.0, 0.0, 0.0, 0.0});
  }
  opt->attach(*backend, params, {});
  opt->step(*backend, OptimizerStep{1, 0.1});
  EXPECT_THAT(download<double>(*backend, params[0].value),
              Pointwise(DoubleNear(1e-15), std::vector<double>{0.95, -1.9, 2.85, -3.8}));
  EXPECT_EQ(download<double>(*backend, params[1].value), (std::vector<double>{1.0, -2.0, 3.0, -4.0}));
}

void expect_rejected(const Keys& keys, const std::string& key, const std::string& rule) {
  const Table params = adamw_params(keys, SourcePos{"recipe.toml", 7, 9, ""});
  const Table recipe;
  EXPECT_THAT(
      [&] {
        AdamWOptimizer opt(CreateArgs{params, recipe});
      },
      ThrowsMessage<Error>(
          AllOf(HasSubstr("recipe.toml:7:9"), HasSubstr("optimizer." + key + " must be "), HasSubstr(rule))));
}

TEST(AdamW, RejectsOutOfRangeKeys) {
  Keys k;
  k.beta1 = 1.0;
  expect_rejected(k, "beta1", "in [0, 1) (MT-NLG: 0.9), got 1");
  k = Keys{};
  k.beta2 = -0.5;
  expect_rejected(k, "beta2", "in [0, 1)");
  k = Keys{};
  k.eps = 0.0;
  expect_rejected(k, "eps", "> 0 (MT-NLG: 1e-8), got 0");
  k = Keys{};
  k.lr = -1e-4;
  expect_rejected(k, "lr", ">= 0");
  k = Keys{};
  k.weight_decay = -0.1;
  expect_rejected(k, "weight_decay", ">= 0");
}

TEST(AdamW, RejectsStepZeroAndIntegerParameters) {
  auto backend = make_backend();
  auto opt = make_adamw(Keys{});
  std::vector<OptimizerParam> params(1);
  params[0].name = "0.weight";
  params[0].value = upload<double>(*backend, {2}, {1.0, 2.0});
  params[0].grad = upload<double>(*backend, {2}, {1.0, 2.0});
  opt->attach(*backend, params, {});
  EXPECT_THAT(
      [&] {
        opt->step(*backend, OptimizerStep{0, 1e-3});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("optimizer 'adamw'"), HasSubstr("needs step >= 1"))));

  auto opt2 = make_adamw(Keys{});
  params[0].value = backend->empty({2}, DType::i32);
  EXPECT_THAT([&] { opt2->attach(*backend, params, {}); },
              ThrowsMessage<Error>(AllOf(HasSubstr("'0.weight' is i32"), HasSubstr("supports f32 and f64"))));
}

}  // namespace
}  // namespace mtnlg::optim::test
