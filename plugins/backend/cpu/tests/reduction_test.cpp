// column_sum and squared_norm against naive f64 references on odd sizes.
#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

template <class T>
class CpuReduction : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuReduction, FloatTypes, DTypeNames);

TYPED_TEST(CpuReduction, ColumnSumWithAndWithoutBeta) {
  using T = TypeParam;
  std::uint64_t seed = 1;
  // (rows, N); 65 · 33 = 2145 rows spans several row blocks.
  for (std::int64_t rows : {std::int64_t{1}, std::int64_t{7}, std::int64_t{65}, std::int64_t{65 * 33}})
    for (std::int64_t n : kOddSizes)
      for (double beta : {0.0, 0.5}) {
        const auto x = random_values<T>(rows * n, seed++), out0 = random_values<T>(n, seed++);
        Tensor out = to_device(*this->backend, {n}, out0);
        this->backend->run(ops::column_sum,
                           ops::ColumnSumArgs{to_device(*this->backend, {rows, n}, x), out, beta});
        std::vector<double> ref(n), mag(n);
        for (std::int64_t j = 0; j < n; ++j) {
          double sum = 0, abs_sum = 0;
          for (std::int64_t i = 0; i < rows; ++i) {
            sum += double(x[i * n + j]);
            abs_sum += std::abs(double(x[i * n + j]));
          }
          ref[j] = beta * double(out0[j]) + sum;
          mag[j] = std::abs(beta * double(out0[j])) + abs_sum;
        }
        expect_close(to_host<T>(*this->backend, out), ref, mag,
                     str("column_sum rows=", rows, " n=", n, " beta=", beta));
      }
}

// (B, T, N) input: every leading dimension is a row.
TYPED_TEST(CpuReduction, ColumnSumOf3DInput) {
  using T = TypeParam;
  const auto x = random_values<T>(3 * 7 * 17, 5);
  Tensor out = this->backend->empty({17}, dtype_of<T>());
  this->backend->run(ops::column_sum, ops::ColumnSumArgs{to_device(*this->backend, {3, 7, 17}, x), out});
  std::vector<double> ref(17, 0.0), mag(17, 0.0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    ref[i % 17] += double(x[i]);
    mag[i % 17] += std::abs(double(x[i]));
  }
  expect_close(to_host<T>(*this->backend, out), ref, mag, "column_sum 3-D");
}

// Zero rows: the sum is empty, out = beta · out.
TYPED_TEST(CpuReduction, ColumnSumOfNoRows) {
  using T = TypeParam;
  Tensor out = to_device(*this->backend, {3}, std::vector<T>{1, 2, 3});
  this->backend->run(ops::column_sum,
                     ops::ColumnSumArgs{this->backend->empty({0, 3}, dtype_of<T>()), out, 2.0});
  EXPECT_THAT(to_host<T>(*this->backend, out), ::testing::ElementsAre(T(2), T(4), T(6)));
}

TYPED_TEST(CpuReduction, SquaredNorm) {
  using T = TypeParam;
  std::uint64_t seed = 50;
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{3}, std::int64_t{7}, std::int64_t{17},
                         std::int64_t{33}, std::int64_t{65}, std::int64_t{65 * 65 * 7}}) {
    const auto x = random_values<T>(n, seed++, -3.0, 3.0);
    Tensor out = this->backend->empty({1}, dtype_of<T>());
    this->backend->run(ops::squared_norm, ops::SquaredNormArgs{to_device(*this->backend, {n}, x), out});
    double ref = 0;
    for (T v : x) ref += double(v) * double(v);
    expect_close(to_host<T>(*this->backend, out), {ref}, {ref}, str("squared_norm n=", n));
  }
}

// f32 input, f64 accumulation: 2^24 + many ones would be stuck at 2^24 in an f32 accumulator.
TEST(CpuReductionAccuracy, SquaredNormAccumulatesInDouble) {
  auto backend = make_backend();
  std::vector<float> x(100001, 1.0f);
  x[0] = 4096.0f;  // 4096² = 2^24
  Tensor out = backend->empty({1}, DType::f32);
  backend->run(ops::squared_norm, ops::SquaredNormArgs{to_device(*backend, {100001}, x), out});
  EXPECT_EQ(to_host<float>(*backend, out)[0], 16777216.0f + 100000.0f);
}

}  // namespace
}  // namespace mtnlg::cpu::test
