// layernorm and layernorm_backward against naive f64 references on odd sizes, and the backward against
// finite differences of the forward.
#include "backend_fixture.hpp"
#include "gradient_check.hpp"

namespace mtnlg::cpu::test {
namespace {

constexpr double kEps = 1e-5;

// The forward pass in f64, row by row: x̂ and the per-row statistics.
struct LayerNormRef {
  std::vector<double> xhat, mean, rstd;
  LayerNormRef(const std::vector<double>& x, std::int64_t n, std::int64_t c)
      : xhat(x.size()), mean(n), rstd(n) {
    for (std::int64_t r = 0; r < n; ++r) {
      double sum = 0, sq = 0;
      for (std::int64_t j = 0; j < c; ++j) sum += x[r * c + j];
      mean[r] = sum / c;
      for (std::int64_t j = 0; j < c; ++j) sq += (x[r * c + j] - mean[r]) * (x[r * c + j] - mean[r]);
      rstd[r] = 1 / std::sqrt(sq / c + kEps);
      for (std::int64_t j = 0; j < c; ++j) xhat[r * c + j] = (x[r * c + j] - mean[r]) * rstd[r];
    }
  }
};

template <class T>
class CpuLayerNorm : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuLayerNorm, FloatTypes, DTypeNames);

TYPED_TEST(CpuLayerNorm, ForwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  for (std::int64_t n : {1, 7, 65})
    for (std::int64_t c : kOddSizes) {
      // An offset mean: the variance must not be computed as E[x²] − E[x]².
      const auto x = random_values<T>(n * c, seed++, 2.0, 4.0);
      const auto gamma = random_values<T>(c, seed++), beta = random_values<T>(c, seed++);
      Tensor out = b.empty({n, c}, dtype_of<T>()), mean = b.empty({n}, dtype_of<T>()),
             rstd = b.empty({n}, dtype_of<T>());
      b.run(ops::layernorm, ops::LayerNormArgs{to_device(b, {n, c}, x), to_device(b, {c}, gamma),
                                               to_device(b, {c}, beta), out, mean, rstd, kEps});
      const LayerNormRef ref(widen(x), n, c);
      std::vector<double> out_ref(n * c), out_mag(n * c);
      for (std::int64_t i = 0; i < n * c; ++i) {
        out_ref[i] = ref.xhat[i] * gamma[i % c] + beta[i % c];
        out_mag[i] = std::abs(ref.xhat[i] * gamma[i % c]) + std::abs(double(beta[i % c]));
      }
      const std::string what = str(" N=", n, " C=", c);
      expect_close(to_host<T>(b, out), out_ref, out_mag, "layernorm out" + what);
      expect_close(to_host<T>(b, mean), ref.mean, ref.mean, "layernorm mean" + what);
      expect_close(to_host<T>(b, rstd), ref.rstd, ref.rstd, "layernorm rstd" + what);
    }
}

// The reference takes the Jacobian route, ∂x̂_k/∂x_j = rstd·(δ_kj − 1/C − x̂_k·x̂_j/C), O(C²) per row: a
// different formula from the kernel's.
TYPED_TEST(CpuLayerNorm, BackwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 100;
  for (std::int64_t n : {1, 7, 65, 257})  // 257 rows: several row blocks for dgamma and dbeta
    for (std::int64_t c : kOddSizes) {
      const auto x = random_values<T>(n * c, seed++), dy = random_values<T>(n * c, seed++);
      const auto gamma = random_values<T>(c, seed++), dgamma0 = random_values<T>(c, seed++),
                 dbeta0 = random_values<T>(c, seed++);
      // mean and rstd from the forward pass, as a model passes them.
      Tensor xt = to_device(b, {n, c}, x), gt = to_device(b, {c}, gamma);
      Tensor mean = b.empty({n}, dtype_of<T>()), rstd = b.empty({n}, dtype_of<T>());
      b.run(ops::layernorm, ops::LayerNormArgs{xt, gt, to_device(b, {c}, std::vector<T>(c, T(0))),
                                               b.empty({n, c}, dtype_of<T>()), mean, rstd, kEps});
      const auto m = widen(to_host<T>(b, mean)), s = widen(to_host<T>(b, rstd));
      Tensor dx = b.empty({n, c}, dtype_of<T>()), dgamma = to_device(b, {c}, dgamma0),
             dbeta = to_device(b, {c}, dbeta0);
      b.run(ops::layernorm_backward,
            ops::LayerNormBackwardArgs{to_device(b, {n, c}, dy), xt, gt, mean, rstd, dx, dgamma, dbeta});

      std::vector<double> dx_ref(n * c, 0.0), dx_mag(n * c, 0.0),
          dg_ref = widen(dgamma0), db_ref = widen(dbeta0), dg_mag(c), db_mag(c);
      for (std::int64_t j = 0; j < c; ++j) {
        dg_mag[j] = std::abs(dg_ref[j]);
        db_mag[j] = std::abs(db_ref[j]);
      }
      for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t k = 0; k < c; ++k) {
          const double xk = (double(x[r * c + k]) - m[r]) * s[r], gk = double(dy[r * c + k]) * gamma[k];
          dg_ref[k] += double(dy[r * c + k]) * xk;
          dg_mag[k] += std::abs(double(dy[r * c + k]) * xk);
          db_ref[k] += dy[r * c + k];
          db_mag[k] += std::abs(double(dy[r * c + k]));
          for (std::int64_t j = 0; j < c; ++j) {
            const double xj = (double(x[r * c + j]) - m[r]) * s[r];
            const double jac = s[r] * ((j == k ? 1.0 : 0.0) - 1.0 / c - xk * xj / c);
            dx_ref[r * c + j] += gk * jac;
            dx_mag[r * c + j] +=
                std::abs(gk) * s[r] * ((j == k ? 1.0 : 0.0) + 1.0 / c + std::abs(xk * xj) / c);
          }
        }
      const std::string what = str(" N=", n, " C=", c);
      expect_close(to_host<T>(b, dx), dx_ref, dx_mag, "layernorm_backward dx" + what);
      expect_close(to_host<T>(b, dgamma), dg_ref, dg_mag, "layernorm_backward dgamma" + what);
      expect_close(to_host<T>(b, dbeta), db_ref, db_mag, "layernorm_backward dbeta" + what);
    }
}

// L = Σ w·layernorm(x; gamma, beta): its gradients are what layernorm_backward computes from dy = w.
TEST(CpuLayerNormGradient, BackwardIsTheGradientOfForward) {
  auto backend = make_backend();
  Backend& b = *backend;
  for (auto [n, c] : {std::pair<std::int64_t, std::int64_t>{3, 7}, {2, 17}}) {
    const auto x = random_values<double>(n * c, 1, -2.0, 2.0), gamma = random_values<double>(c, 2),
               beta = random_values<double>(c, 3), w = random_values<double>(n * c, 4);
    Tensor mean = b.empty({n}, DType::f64), rstd = b.empty({n}, DType::f64);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv,
                    const std::vector<double>& bv) {
      Tensor out = b.empty({n, c}, DType::f64);
      b.run(ops::layernorm, ops::LayerNormArgs{to_device(b, {n, c}, xv), to_device(b, {c}, gv),
                                               to_device(b, {c}, bv), out, mean, rstd, kEps});
      return weighted_sum(w, to_host<double>(b, out));
    };
    loss(x, gamma, beta);  // mean and rstd at the unperturbed point
    Tensor dx = b.empty({n, c}, DType::f64), dgamma = to_device(b, {c}, std::vector<double>(c, 0.0)),
           dbeta = to_device(b, {c}, std::vector<double>(c, 0.0));
    b.run(ops::layernorm_backward,
          ops::LayerNormBackwardArgs{to_device(b, {n, c}, w), to_device(b, {n, c}, x),
                                     to_device(b, {c}, gamma), mean, rstd, dx, dgamma, dbeta});
    const std::string what = str(" N=", n, " C=", c);
    expect_gradient_close(to_host<double>(b, dx),
                          numeric_gradient(x, [&](const auto& v) { return loss(v, gamma, beta); }),
                          "dx" + what);
    expect_gradient_close(to_host<double>(b, dgamma),
                          numeric_gradient(gamma, [&](const auto& v) { return loss(x, v, beta); }),
                          "dgamma" + what);
    expect_gradient_close(to_host<double>(b, dbeta),
                          numeric_gradient(beta, [&](const auto& v) { return loss(x, gamma, v); }),
                          "dbeta" + what);
  }
}

}  // namespace
}  // namespace mtnlg::cpu::test
