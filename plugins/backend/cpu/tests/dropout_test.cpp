// dropout and dropout_backward: the exact Philox counter layout of ops.hpp, masks that depend only on
// (key, sample, element) whatever the split, the kept fraction, p = 0, and the backward pass's mask.
#include "mtnlg/rng.hpp"

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

constexpr std::uint32_t kKey0 = 0x1234567u, kKey1 = 0x89abcdefu;

// ops.hpp's decision for element m of sample s, written out independently of the kernel.
bool kept(std::uint64_t s, std::uint64_t m, double p) {
  const rng::Counter r =
      rng::philox4x32_10({static_cast<std::uint32_t>(m), static_cast<std::uint32_t>(m >> 32),
                          static_cast<std::uint32_t>(s), static_cast<std::uint32_t>(s >> 32)},
                         {kKey0, kKey1});
  return rng::to_unit(r[0], r[1]) > p;
}

ops::DropoutArgs dropout_args(const Tensor& x, const Tensor& out, double p, std::int64_t first_sample,
                              std::int64_t element_offset) {
  ops::DropoutArgs args{x, out, p};
  args.key[0] = kKey0;
  args.key[1] = kKey1;
  args.first_sample = first_sample;
  args.element_offset = element_offset;
  return args;
}

template <class T>
class CpuDropout : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();

  // dropout of x (shape, B = shape[0]) with the given placement, downloaded.
  std::vector<T> run(const OpKey<ops::DropoutArgs>& op, const Shape& shape, const std::vector<T>& x, double p,
                     std::int64_t first_sample, std::int64_t element_offset, bool in_place = false) {
    Tensor xt = to_device(*backend, shape, x);
    Tensor out = in_place ? xt : backend->empty(shape, dtype_of<T>());
    backend->run(op, dropout_args(xt, out, p, first_sample, element_offset));
    return to_host<T>(*backend, out);
  }
};
TYPED_TEST_SUITE(CpuDropout, FloatTypes, DTypeNames);

// Exact: out = x·(1/(1 − p)) rounded once, or 0; a large first_sample and element_offset exercise the high
// counter words.
TYPED_TEST(CpuDropout, MatchesTheCounterLayout) {
  using T = TypeParam;
  std::uint64_t seed = 1;
  const std::int64_t big = (std::int64_t{1} << 32) + 5;
  for (const Shape& shape : {Shape{1, 1}, Shape{3, 7}, Shape{7, 33}, Shape{2, 3, 5}, Shape{17}})
    for (double p : {0.1, 0.5})
      for (auto [first_sample, element_offset] :
           {std::pair<std::int64_t, std::int64_t>{0, 0}, {5, 11}, {big, big}})
        for (bool in_place : {false, true}) {
          const std::int64_t n = shape_numel(shape), m_len = n / shape[0];
          const auto x = random_values<T>(n, seed++);
          const auto got = this->run(ops::dropout, shape, x, p, first_sample, element_offset, in_place);
          std::vector<T> want(n);
          for (std::int64_t i = 0; i < n; ++i)
            want[i] = kept(first_sample + i / m_len, element_offset + i % m_len, p)
                          ? static_cast<T>(static_cast<double>(x[i]) * (1.0 / (1.0 - p)))
                          : T(0);
          EXPECT_TRUE(bitwise_equal(got, want))
              << "shape " << shape_str(shape) << " p=" << p << " first_sample=" << first_sample
              << " element_offset=" << element_offset;
        }
}

// The same elements give the same decisions whether the tensor is whole or split into samples (data
// parallel: first_sample) or into columns (tensor parallel: element_offset).
TYPED_TEST(CpuDropout, SplitsGiveTheSameMask) {
  using T = TypeParam;
  const std::int64_t bs = 7, m = 33, b1 = 3, m1 = 13, first = 40, offset = 100;
  const double p = 0.4;
  const auto x = random_values<T>(bs * m, 1);
  const auto whole = this->run(ops::dropout, {bs, m}, x, p, first, offset);

  const std::vector<T> top(x.begin(), x.begin() + b1 * m), bottom(x.begin() + b1 * m, x.end());
  auto samples = this->run(ops::dropout, {b1, m}, top, p, first, offset);
  const auto rest = this->run(ops::dropout, {bs - b1, m}, bottom, p, first + b1, offset);
  samples.insert(samples.end(), rest.begin(), rest.end());
  EXPECT_TRUE(bitwise_equal(samples, whole)) << "split by samples";

  std::vector<T> left, right;
  for (std::int64_t r = 0; r < bs; ++r) {
    left.insert(left.end(), x.begin() + r * m, x.begin() + r * m + m1);
    right.insert(right.end(), x.begin() + r * m + m1, x.begin() + (r + 1) * m);
  }
  const auto l = this->run(ops::dropout, {bs, m1}, left, p, first, offset);
  const auto rt = this->run(ops::dropout, {bs, m - m1}, right, p, first, offset + m1);
  std::vector<T> columns;
  for (std::int64_t r = 0; r < bs; ++r) {
    columns.insert(columns.end(), l.begin() + r * m1, l.begin() + (r + 1) * m1);
    columns.insert(columns.end(), rt.begin() + r * (m - m1), rt.begin() + (r + 1) * (m - m1));
  }
  EXPECT_TRUE(bitwise_equal(columns, whole)) << "split by columns";
}

TYPED_TEST(CpuDropout, KeptFractionIsOneMinusP) {
  using T = TypeParam;
  const std::int64_t n = std::int64_t{1} << 18;
  for (double p : {0.1, 0.5, 0.9}) {
    const auto out = this->run(ops::dropout, {4, n / 4}, std::vector<T>(n, T(1)), p, 0, 0);
    std::int64_t count = 0;
    for (T v : out) {
      if (v == T(0)) continue;
      ++count;
      ASSERT_EQ(v, static_cast<T>(1.0 / (1.0 - p)));
    }
    // The standard deviation of the fraction is √(p(1 − p)/n) ≤ 0.001: 0.006 is six of them.
    EXPECT_NEAR(static_cast<double>(count) / n, 1.0 - p, 0.006) << "p=" << p;
  }
}

TYPED_TEST(CpuDropout, ZeroPIsTheIdentity) {
  using T = TypeParam;
  const auto x = random_values<T>(3 * 65, 2);
  EXPECT_TRUE(bitwise_equal(this->run(ops::dropout, {3, 65}, x, 0.0, 9, 4), x));
}

// dropout_backward regenerates the forward's mask: dx is 0 exactly where out was, dy/(1 − p) elsewhere.
TYPED_TEST(CpuDropout, BackwardRegeneratesTheMask) {
  using T = TypeParam;
  const std::int64_t bs = 5, m = 65, first = 3, offset = 17;
  const double p = 0.3;
  const auto out = this->run(ops::dropout, {bs, m}, std::vector<T>(bs * m, T(1)), p, first, offset);
  const auto dy = random_values<T>(bs * m, 3, 0.5, 1.5);  // never 0
  for (bool in_place : {false, true}) {
    const auto dx = this->run(ops::dropout_backward, {bs, m}, dy, p, first, offset, in_place);
    for (std::int64_t i = 0; i < bs * m; ++i)
      ASSERT_EQ(dx[i], out[i] == T(0) ? T(0) : static_cast<T>(static_cast<double>(dy[i]) * (1.0 / (1.0 - p))))
          << "element " << i << " in_place=" << in_place;
  }
  // Another sample range is another mask.
  EXPECT_FALSE(bitwise_equal(
      this->run(ops::dropout, {bs, m}, std::vector<T>(bs * m, T(1)), p, first + bs, offset), out));
}

}  // namespace
}  // namespace mtnlg::cpu::test
