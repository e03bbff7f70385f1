// gemm against a naive f64 reference: every transpose combination on odd sizes, alpha/beta ≠ (1, 0), batches,
// strided views, and the degenerate K = 0 case.
#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

// A host matrix view: element (i, j) of batch entry bi at off + bi·bs + i·rs + j.
struct HostMat {
  const std::vector<double>* data;
  std::int64_t off, bs, rs;
  double at(std::int64_t bi, std::int64_t i, std::int64_t j) const {
    return (*data)[static_cast<std::size_t>(off + bi * bs + i * rs + j)];
  }
};

// c = alpha · op(a) · op(b) + beta · c in f64, and the magnitude Σ|terms| of each result, written into the
// same layout as c.
void reference_gemm(HostMat a, HostMat b, std::vector<double>& c, std::vector<double>& mag,
                    std::int64_t c_off, std::int64_t c_bs, std::int64_t c_rs, std::int64_t batch,
                    std::int64_t m, std::int64_t n, std::int64_t k, bool ta, bool tb, double alpha,
                    double beta) {
  for (std::int64_t bi = 0; bi < batch; ++bi)
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0, abs_sum = 0;
        for (std::int64_t p = 0; p < k; ++p) {
          const double x = ta ? a.at(bi, p, i) : a.at(bi, i, p);
          const double y = tb ? b.at(bi, j, p) : b.at(bi, p, j);
          sum += x * y;
          abs_sum += std::abs(x * y);
        }
        const auto idx = static_cast<std::size_t>(c_off + bi * c_bs + i * c_rs + j);
        mag[idx] = std::abs(alpha) * abs_sum + std::abs(beta * c[idx]);
        c[idx] = alpha * sum + (beta == 0 ? 0.0 : beta * c[idx]);
      }
}

template <class T>
class CpuGemm : public ::testing::Test {};
TYPED_TEST_SUITE(CpuGemm, FloatTypes, DTypeNames);

// All four transpose combinations on every combination of odd M, N, K, with alpha = 0.75, beta = -0.5.
TYPED_TEST(CpuGemm, AllTransposesOddSizes) {
  using T = TypeParam;
  auto backend = make_backend();
  std::uint64_t seed = 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (std::int64_t m : kOddSizes)
        for (std::int64_t n : kOddSizes)
          for (std::int64_t k : kOddSizes) {
            const Shape a_shape = ta ? Shape{k, m} : Shape{m, k};
            const Shape b_shape = tb ? Shape{n, k} : Shape{k, n};
            const auto a = random_values<T>(static_cast<std::size_t>(m * k), seed++);
            const auto b = random_values<T>(static_cast<std::size_t>(k * n), seed++);
            const auto c0 = random_values<T>(static_cast<std::size_t>(m * n), seed++);
            ops::GemmArgs args{to_device(*backend, a_shape, a),
                               to_device(*backend, b_shape, b),
                               to_device(*backend, {m, n}, c0),
                               ta,
                               tb,
                               0.75,
                               -0.5};
            backend->run(ops::gemm, args);
            const auto got = to_host<T>(*backend, args.c);

            const auto a64 = widen(a), b64 = widen(b);
            auto ref = widen(c0);
            std::vector<double> mag(ref.size());
            reference_gemm({&a64, 0, 0, a_shape[1]}, {&b64, 0, 0, b_shape[1]}, ref, mag, 0, 0, n, 1, m, n, k,
                           ta, tb, 0.75, -0.5);
            expect_close(got, ref, mag, str("gemm ta=", ta, " tb=", tb, " M=", m, " N=", n, " K=", k));
          }
}

// beta = 0 must not read c: NaN garbage in c does not reach the result.
TYPED_TEST(CpuGemm, BetaZeroOverwritesGarbage) {
  using T = TypeParam;
  auto backend = make_backend();
  const std::int64_t m = 7, n = 5, k = 3;
  const auto a = random_values<T>(m * k, 11), b = random_values<T>(k * n, 12);
  ops::GemmArgs args{to_device(*backend, {m, k}, a),
                     to_device(*backend, {k, n}, b),
                     to_device(*backend, {m, n}, std::vector<T>(m * n, std::nan(""))),
                     false,
                     false,
                     2.0,
                     0.0};
  backend->run(ops::gemm, args);
  const auto got = to_host<T>(*backend, args.c);
  const auto a64 = widen(a), b64 = widen(b);
  std::vector<double> ref(m * n, 0.0), mag(m * n);
  reference_gemm({&a64, 0, 0, k}, {&b64, 0, 0, n}, ref, mag, 0, 0, n, 1, m, n, k, false, false, 2.0, 0.0);
  expect_close(got, ref, mag, "gemm beta=0");
}

// 3-D batches, every transpose combination, with a's rows a slice of wider rows (lda > K) and c a slice too.
TYPED_TEST(CpuGemm, Batched3DWithStridedViews) {
  using T = TypeParam;
  auto backend = make_backend();
  const std::int64_t batch = 3, m = 7, n = 5, k = 9, pad = 4;
  std::uint64_t seed = 100;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      // a is stored (batch, rows, cols + pad) and viewed at columns [2, 2 + cols).
      const std::int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
      const std::int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
      const auto a_wide = random_values<T>(batch * a_rows * (a_cols + pad), seed++);
      const auto b = random_values<T>(batch * b_rows * b_cols, seed++);
      const auto c_wide = random_values<T>(batch * m * (n + pad), seed++);
      const Tensor a_t = to_device(*backend, {batch, a_rows, a_cols + pad}, a_wide).slice(2, 2, a_cols);
      const Tensor c_full = to_device(*backend, {batch, m, n + pad}, c_wide);
      ops::GemmArgs args{
          a_t, to_device(*backend, {batch, b_rows, b_cols}, b), c_full.slice(2, 1, n), ta, tb, -1.5, 0.25};
      backend->run(ops::gemm, args);
      const auto got = to_host<T>(*backend, c_full);

      const auto a64 = widen(a_wide), b64 = widen(b);
      auto ref = widen(c_wide);
      std::vector<double> mag(ref.size(), 0.0);
      reference_gemm({&a64, 2, a_rows * (a_cols + pad), a_cols + pad}, {&b64, 0, b_rows * b_cols, b_cols},
                     ref, mag, 1, m * (n + pad), n + pad, batch, m, n, k, ta, tb, -1.5, 0.25);
      // Elements outside the c view (mag 0, ref = the original) must be bitwise untouched.
      expect_close(got, ref, mag, str("batched gemm ta=", ta, " tb=", tb));
    }
}

// A (M, K) operand that is a row-and-column slice of a bigger matrix, as a layer's weight shard would be.
TYPED_TEST(CpuGemm, SliceOfWiderMatrix) {
  using T = TypeParam;
  auto backend = make_backend();
  const std::int64_t m = 17, n = 33, k = 65;
  const auto big = random_values<T>((m + 3) * (k + 7), 7);
  const auto b = random_values<T>(k * n, 8);
  const Tensor a_view = to_device(*backend, {m + 3, k + 7}, big).slice(0, 2, m).slice(1, 5, k);
  ASSERT_FALSE(a_view.is_contiguous());
  ops::GemmArgs args{a_view, to_device(*backend, {k, n}, b), backend->empty({m, n}, dtype_of<T>())};
  backend->run(ops::gemm, args);
  const auto got = to_host<T>(*backend, args.c);
  const auto a64 = widen(big), b64 = widen(b);
  std::vector<double> ref(m * n, 0.0), mag(m * n);
  reference_gemm({&a64, 2 * (k + 7) + 5, 0, k + 7}, {&b64, 0, 0, n}, ref, mag, 0, 0, n, 1, m, n, k, false,
                 false, 1.0, 0.0);
  expect_close(got, ref, mag, "gemm with a sliced operand");
}

// K = 0: an empty sum, so c = beta · c.
TYPED_TEST(CpuGemm, EmptyInnerDimensionScalesC) {
  using T = TypeParam;
  auto backend = make_backend();
  const auto c0 = random_values<T>(3 * 5, 3);
  ops::GemmArgs args{backend->empty({3, 0}, dtype_of<T>()),
                     backend->empty({0, 5}, dtype_of<T>()),
                     to_device(*backend, {3, 5}, c0),
                     false,
                     false,
                     1.0,
                     0.5};
  backend->run(ops::gemm, args);
  const auto got = to_host<T>(*backend, args.c);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], static_cast<T>(T(0.5) * c0[i]));
}

}  // namespace
}  // namespace mtnlg::cpu::test
