// causal_softmax and causal_softmax_backward against naive f64 references on odd sizes, in place and not,
// and the backward against finite differences of the forward.
#include <limits>

#include "backend_fixture.hpp"
#include "gradient_check.hpp"

namespace mtnlg::cpu::test {
namespace {

constexpr double kScale = 0.37;  // 1/√d for a head size of about 7

// softmax_j(scale·s[i, j]) over j ≤ i, 0 above the diagonal; (BH, T, T).
std::vector<double> causal_softmax_ref(const std::vector<double>& s, std::int64_t bh, std::int64_t t,
                                       double scale) {
  std::vector<double> p(s.size(), 0.0);
  for (std::int64_t r = 0; r < bh * t; ++r) {
    const std::int64_t i = r % t;
    double max = -std::numeric_limits<double>::infinity(), sum = 0;
    for (std::int64_t j = 0; j <= i; ++j) max = std::max(max, scale * s[r * t + j]);
    for (std::int64_t j = 0; j <= i; ++j) sum += std::exp(scale * s[r * t + j] - max);
    for (std::int64_t j = 0; j <= i; ++j) p[r * t + j] = std::exp(scale * s[r * t + j] - max) / sum;
  }
  return p;
}

template <class T>
class CpuCausalSoftmax : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuCausalSoftmax, FloatTypes, DTypeNames);

TYPED_TEST(CpuCausalSoftmax, ForwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  for (std::int64_t bh : {1, 3})
    for (std::int64_t t : kOddSizes)
      for (bool in_place : {false, true}) {
        // Scores up to ±300 with scale 3: scale·s reaches ±900, where exp() overflows even a double unless
        // the row maximum is subtracted first.
        for (double scale : {kScale, 3.0}) {
          const auto s = random_values<T>(bh * t * t, seed++, -300.0, 300.0);
          Tensor scores = to_device(b, {bh, t, t}, s);
          Tensor probs = in_place ? scores : b.empty({bh, t, t}, dtype_of<T>());
          b.run(ops::causal_softmax, ops::CausalSoftmaxArgs{scores, probs, scale});
          const auto ref = causal_softmax_ref(widen(s), bh, t, scale);
          // Relative to each probability, with an absolute floor for those that underflow in f32.
          std::vector<double> mag(ref.size());
          for (std::size_t i = 0; i < ref.size(); ++i) mag[i] = ref[i] + 1e-30;
          expect_close(to_host<T>(b, probs), ref, mag,
                       str("causal_softmax BH=", bh, " T=", t, " in_place=", in_place, " scale=", scale));
        }
      }
}

TYPED_TEST(CpuCausalSoftmax, BackwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 100;
  for (std::int64_t bh : {1, 3})
    for (std::int64_t t : kOddSizes)
      for (bool in_place : {false, true}) {
        // probs from the forward pass; dprobs anything, above the diagonal too (it must be ignored there).
        Tensor probs = b.empty({bh, t, t}, dtype_of<T>());
        b.run(ops::causal_softmax,
              ops::CausalSoftmaxArgs{
                  to_device(b, {bh, t, t}, random_values<T>(bh * t * t, seed++, -3.0, 3.0)), probs, kScale});
        const auto p = widen(to_host<T>(b, probs));
        const auto dp = random_values<T>(bh * t * t, seed++);
        Tensor dprobs = to_device(b, {bh, t, t}, dp);
        Tensor dscores = in_place ? dprobs : b.empty({bh, t, t}, dtype_of<T>());
        b.run(ops::causal_softmax_backward, ops::CausalSoftmaxBackwardArgs{probs, dprobs, dscores, kScale});
        std::vector<double> ref(bh * t * t, 0.0), mag(bh * t * t, 0.0);
        for (std::int64_t r = 0; r < bh * t; ++r) {
          double dot = 0, dot_mag = 0;
          for (std::int64_t j = 0; j <= r % t; ++j) {
            dot += dp[r * t + j] * p[r * t + j];
            dot_mag += std::abs(dp[r * t + j] * p[r * t + j]);
          }
          for (std::int64_t j = 0; j <= r % t; ++j) {
            ref[r * t + j] = kScale * p[r * t + j] * (dp[r * t + j] - dot);
            mag[r * t + j] = kScale * p[r * t + j] * (std::abs(double(dp[r * t + j])) + dot_mag);
          }
        }
        expect_close(to_host<T>(b, dscores), ref, mag,
                     str("causal_softmax_backward BH=", bh, " T=", t, " in_place=", in_place));
      }
}

// L = Σ w·causal_softmax(scores): its gradient is what causal_softmax_backward computes from dprobs = w.
TEST(CpuCausalSoftmaxGradient, BackwardIsTheGradientOfForward) {
  auto backend = make_backend();
  Backend& b = *backend;
  const std::int64_t bh = 2, t = 5;
  const auto s = random_values<double>(bh * t * t, 1, -2.0, 2.0), w = random_values<double>(bh * t * t, 2);
  auto loss = [&](const std::vector<double>& sv) {
    Tensor probs = b.empty({bh, t, t}, DType::f64);
    b.run(ops::causal_softmax, ops::CausalSoftmaxArgs{to_device(b, {bh, t, t}, sv), probs, kScale});
    return weighted_sum(w, to_host<double>(b, probs));
  };
  Tensor probs = b.empty({bh, t, t}, DType::f64), dscores = b.empty({bh, t, t}, DType::f64);
  b.run(ops::causal_softmax, ops::CausalSoftmaxArgs{to_device(b, {bh, t, t}, s), probs, kScale});
  b.run(ops::causal_softmax_backward,
        ops::CausalSoftmaxBackwardArgs{probs, to_device(b, {bh, t, t}, w), dscores, kScale});
  expect_gradient_close(to_host<double>(b, dscores), numeric_gradient(s, loss), "dscores");
}

}  // namespace
}  // namespace mtnlg::cpu::test
