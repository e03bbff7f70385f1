// cross_entropy and cross_entropy_backward against naive f64 references on odd sizes, with vocabulary
// padding, large logits and in place, and the backward against finite differences of the forward.
#include <limits>

#include "backend_fixture.hpp"
#include "gradient_check.hpp"

namespace mtnlg::cpu::test {
namespace {

// Logits (N, V) in [-3, 3), shifted by up to ±800 per row (exp(800) overflows a double: the log-sum-exp must
// subtract the maximum), with huge values in the padding columns [valid, V) that must be ignored.
template <class T>
std::vector<T> test_logits(std::int64_t n, std::int64_t v, std::int64_t valid, std::uint64_t seed) {
  auto x = random_values<T>(n * v, seed, -3.0, 3.0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t j = 0; j < v; ++j) x[r * v + j] += j >= valid ? T(1e4) : T(800.0 * ((r % 3) - 1));
  return x;
}

// The row's max over its first `valid` entries and log Σ exp(x − max).
struct LogSumExp {
  double max = -std::numeric_limits<double>::infinity(), log_sum = 0;
  LogSumExp(const double* x, std::int64_t valid) {
    double sum = 0;
    for (std::int64_t j = 0; j < valid; ++j) max = std::max(max, x[j]);
    for (std::int64_t j = 0; j < valid; ++j) sum += std::exp(x[j] - max);
    log_sum = std::log(sum);
  }
};

const std::vector<std::pair<std::int64_t, std::int64_t>> kLossSizes = {
    {1, 1}, {3, 7}, {7, 65}, {17, 33}, {2, 257}};

template <class T>
class CpuCrossEntropy : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuCrossEntropy, FloatTypes, DTypeNames);

TYPED_TEST(CpuCrossEntropy, ForwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  for (const auto& [n, v] : kLossSizes)
    for (std::int64_t valid : {v, std::max<std::int64_t>(1, v - 2)}) {
      const auto logits = test_logits<T>(n, v, valid, seed++);
      const auto targets = random_tokens(n, static_cast<std::int32_t>(valid), seed++);
      Tensor losses = b.empty({n}, dtype_of<T>());
      b.run(ops::cross_entropy,
            ops::CrossEntropyArgs{to_device(b, {n, v}, logits), to_device(b, {n}, targets), losses, valid});
      const auto x = widen(logits);
      std::vector<double> ref(n), mag(n);
      for (std::int64_t r = 0; r < n; ++r) {
        const LogSumExp e(x.data() + r * v, valid);
        const double target = x[r * v + targets[r]];
        ref[r] = e.log_sum + e.max - target;
        mag[r] = e.log_sum + std::abs(e.max) + std::abs(target);
      }
      expect_close(to_host<T>(b, losses), ref, mag, str("cross_entropy N=", n, " V=", v, " valid=", valid));
    }
}

TYPED_TEST(CpuCrossEntropy, BackwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 100;
  const double weight = 0.125;  // 1 / (number of tokens) in a mean loss
  for (const auto& [n, v] : kLossSizes)
    for (std::int64_t valid : {v, std::max<std::int64_t>(1, v - 2)})
      for (bool in_place : {false, true}) {
        const auto logits = test_logits<T>(n, v, valid, seed++);
        const auto targets = random_tokens(n, static_cast<std::int32_t>(valid), seed++);
        Tensor lt = to_device(b, {n, v}, logits);
        Tensor dlogits = in_place ? lt : b.empty({n, v}, dtype_of<T>());
        b.run(ops::cross_entropy_backward,
              ops::CrossEntropyBackwardArgs{lt, to_device(b, {n}, targets), dlogits, valid, weight});
        const auto x = widen(logits);
        std::vector<double> ref(n * v, 0.0), mag(n * v, 0.0);
        for (std::int64_t r = 0; r < n; ++r) {
          const LogSumExp e(x.data() + r * v, valid);
          for (std::int64_t j = 0; j < valid; ++j) {
            const double p = std::exp(x[r * v + j] - e.max - e.log_sum), hit = j == targets[r] ? 1.0 : 0.0;
            ref[r * v + j] = weight * (p - hit);
            mag[r * v + j] = weight * (p + hit);
          }
        }
        expect_close(to_host<T>(b, dlogits), ref, mag,
                     str("cross_entropy_backward N=", n, " V=", v, " valid=", valid, " in_place=", in_place));
      }
}

// L = weight · Σ losses: its gradient is what cross_entropy_backward computes; padding columns get 0.
TEST(CpuCrossEntropyGradient, BackwardIsTheGradientOfForward) {
  auto backend = make_backend();
  Backend& b = *backend;
  const std::int64_t n = 3, v = 7, valid = 5;
  const double weight = 0.7;
  const auto logits = random_values<double>(n * v, 1, -2.0, 2.0);
  const Tensor targets = to_device(b, {n}, random_tokens(n, valid, 2));
  auto loss = [&](const std::vector<double>& x) {
    Tensor losses = b.empty({n}, DType::f64);
    b.run(ops::cross_entropy, ops::CrossEntropyArgs{to_device(b, {n, v}, x), targets, losses, valid});
    return weighted_sum(std::vector<double>(n, weight), to_host<double>(b, losses));
  };
  Tensor dlogits = b.empty({n, v}, DType::f64);
  b.run(ops::cross_entropy_backward,
        ops::CrossEntropyBackwardArgs{to_device(b, {n, v}, logits), targets, dlogits, valid, weight});
  expect_gradient_close(to_host<double>(b, dlogits), numeric_gradient(logits, loss), "dlogits");
}

}  // namespace
}  // namespace mtnlg::cpu::test
