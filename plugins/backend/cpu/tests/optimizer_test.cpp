// adamw against ops.hpp's formula in f64 over several steps, on odd sizes.
#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

template <class T>
class CpuAdamW : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuAdamW, FloatTypes, DTypeNames);

TYPED_TEST(CpuAdamW, StepsMatchReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  const double lr = 1e-2, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, wd = 0.1;
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{7}, std::int64_t{65}, std::int64_t{65 * 65 * 17}}) {
    const auto p0 = random_values<T>(n, seed++);
    Tensor param = to_device(b, {n}, p0);
    Tensor m = to_device(b, {n}, std::vector<T>(n, T(0))), v = to_device(b, {n}, std::vector<T>(n, T(0)));
    std::vector<double> p_ref = widen(p0), m_ref(n, 0.0), v_ref(n, 0.0), p_mag(n);
    for (std::int64_t step = 1; step <= 3; ++step) {
      const auto g = random_values<T>(n, seed++);
      b.run(ops::adamw, ops::AdamWArgs{param, to_device(b, {n}, g), m, v, lr, beta1, beta2, eps, wd, step});
      for (std::int64_t i = 0; i < n; ++i) {
        m_ref[i] = beta1 * m_ref[i] + (1 - beta1) * g[i];
        v_ref[i] = beta2 * v_ref[i] + (1 - beta2) * double(g[i]) * g[i];
        const double m_hat = m_ref[i] / (1 - std::pow(beta1, step)),
                     v_hat = v_ref[i] / (1 - std::pow(beta2, step));
        const double update = m_hat / (std::sqrt(v_hat) + eps);
        p_mag[i] = std::abs(p_ref[i]) + lr * (std::abs(update) + wd * std::abs(p_ref[i]));
        p_ref[i] -= lr * (update + wd * p_ref[i]);
      }
      const std::string what = str(" n=", n, " step=", step);
      expect_close(to_host<T>(b, param), p_ref, p_mag, "adamw param" + what);
      // m's terms can cancel but their absolute values sum to at most max |g| = 1; v's terms are all >= 0.
      expect_close(to_host<T>(b, m), m_ref, std::vector<double>(n, 1.0), "adamw m" + what);
      expect_close(to_host<T>(b, v), v_ref, v_ref, "adamw v" + what);
    }
  }
}

// With m = v = 0 and a zero gradient the update is weight decay alone, decoupled from the gradient:
// param·(1 − lr·wd).
TEST(CpuAdamWDecay, ZeroGradientOnlyDecays) {
  auto backend = make_backend();
  Backend& b = *backend;
  const std::vector<double> p0 = {1.0, -2.0, 0.5};
  Tensor param = to_device(b, {3}, p0), zeros = to_device(b, {3}, std::vector<double>(3, 0.0));
  Tensor m = to_device(b, {3}, std::vector<double>(3, 0.0)),
         v = to_device(b, {3}, std::vector<double>(3, 0.0));
  b.run(ops::adamw, ops::AdamWArgs{param, zeros, m, v, 0.1, 0.9, 0.999, 1e-8, 0.01, 7});
  EXPECT_THAT(to_host<double>(b, param),
              ::testing::ElementsAre(p0[0] - 0.1 * (0.01 * p0[0]), p0[1] - 0.1 * (0.01 * p0[1]),
                                     p0[2] - 0.1 * (0.01 * p0[2])));
}

}  // namespace
}  // namespace mtnlg::cpu::test
