// Elementwise ops against naive f64 references on odd sizes, f32 and f64, plus fill/copy for the integer
// dtypes.
#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

template <class T>
class CpuElementwise : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
  static constexpr DType kDType = dtype_of<T>();
};
TYPED_TEST_SUITE(CpuElementwise, FloatTypes, DTypeNames);

TYPED_TEST(CpuElementwise, Fill) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    Tensor out = this->backend->empty({n}, this->kDType);
    this->backend->run(ops::fill, ops::FillArgs{out, -2.25});
    for (T v : to_host<T>(*this->backend, out)) EXPECT_EQ(v, T(-2.25));
  }
}

TYPED_TEST(CpuElementwise, Axpy) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    const auto x = random_values<T>(n, 1 + n), y = random_values<T>(n, 2 + n);
    Tensor ty = to_device(*this->backend, {n}, y);
    // x may have another shape with the same element count.
    this->backend->run(ops::axpy, ops::AxpyArgs{to_device(*this->backend, {1, n}, x), ty, -0.7});
    std::vector<double> ref(n), mag(n);
    for (std::int64_t i = 0; i < n; ++i) {
      ref[i] = double(y[i]) + double(T(-0.7)) * double(x[i]);
      mag[i] = std::abs(double(y[i])) + std::abs(0.7 * double(x[i]));
    }
    expect_close(to_host<T>(*this->backend, ty), ref, mag, str("axpy n=", n));
  }
}

TYPED_TEST(CpuElementwise, Scale) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    const auto x = random_values<T>(n, 3 + n);
    Tensor tx = to_device(*this->backend, {n}, x);
    this->backend->run(ops::scale, ops::ScaleArgs{tx, 1.5});
    std::vector<double> ref(n), mag(n);
    for (std::int64_t i = 0; i < n; ++i) mag[i] = std::abs(ref[i] = 1.5 * double(x[i]));
    expect_close(to_host<T>(*this->backend, tx), ref, mag, str("scale n=", n));
  }
}

TYPED_TEST(CpuElementwise, AddAndMulIncludingAliasedOutput) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    const auto a = random_values<T>(n, 5 + n), b = random_values<T>(n, 6 + n);
    Tensor ta = to_device(*this->backend, {n}, a), tb = to_device(*this->backend, {n}, b);
    Tensor sum = this->backend->empty({n}, this->kDType);
    this->backend->run(ops::add, ops::BinaryArgs{ta, tb, sum});
    this->backend->run(ops::mul, ops::BinaryArgs{ta, tb, ta});  // out aliases a
    std::vector<double> ref_sum(n), mag_sum(n), ref_prod(n), mag_prod(n);
    for (std::int64_t i = 0; i < n; ++i) {
      ref_sum[i] = double(a[i]) + double(b[i]);
      mag_sum[i] = std::abs(double(a[i])) + std::abs(double(b[i]));
      mag_prod[i] = std::abs(ref_prod[i] = double(a[i]) * double(b[i]));
    }
    expect_close(to_host<T>(*this->backend, sum), ref_sum, mag_sum, str("add n=", n));
    expect_close(to_host<T>(*this->backend, ta), ref_prod, mag_prod, str("mul (aliased) n=", n));
  }
}

TYPED_TEST(CpuElementwise, BiasAdd3D) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    const std::int64_t b = 3, t = 7;
    const auto x = random_values<T>(b * t * n, 7 + n), bias = random_values<T>(n, 8 + n);
    Tensor tx = to_device(*this->backend, {b, t, n}, x);
    // (B, T, N) + (N), in place.
    this->backend->run(ops::bias_add, ops::BiasAddArgs{tx, to_device(*this->backend, {n}, bias), tx});
    std::vector<double> ref(x.size()), mag(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      ref[i] = double(x[i]) + double(bias[i % n]);
      mag[i] = std::abs(double(x[i])) + std::abs(double(bias[i % n]));
    }
    expect_close(to_host<T>(*this->backend, tx), ref, mag, str("bias_add n=", n));
  }
}

// The reference GeLU, written as ops.hpp states it (tanh form), in f64.
double gelu_ref(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(u));
}
double gelu_grad_ref(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  const double du = std::sqrt(2.0 / M_PI) * (1.0 + 3.0 * 0.044715 * x * x);
  const double th = std::tanh(u);
  return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * du;
}

TYPED_TEST(CpuElementwise, Gelu) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    const auto x = random_values<T>(n * 13, 9 + n, -6.0, 6.0);
    Tensor out = this->backend->empty({13, n}, this->kDType);
    this->backend->run(ops::gelu, ops::GeluArgs{to_device(*this->backend, {13, n}, x), out});
    std::vector<double> ref(x.size()), mag(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      ref[i] = gelu_ref(double(x[i]));
      mag[i] = std::abs(double(x[i]));  // |gelu(x)| ≤ |x|: errors are relative to the input's size
    }
    expect_close(to_host<T>(*this->backend, out), ref, mag, str("gelu n=", n));
  }
}

TYPED_TEST(CpuElementwise, GeluBackwardAliasedGradient) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    const auto x = random_values<T>(n * 5, 10 + n, -6.0, 6.0), dy = random_values<T>(n * 5, 11 + n);
    Tensor tdy = to_device(*this->backend, {5, n}, dy);
    // dx aliases dy, as the MLP's backward uses it.
    this->backend->run(ops::gelu_backward,
                       ops::GeluBackwardArgs{to_device(*this->backend, {5, n}, x), tdy, tdy});
    std::vector<double> ref(x.size()), mag(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double xi = double(x[i]);
      ref[i] = double(dy[i]) * gelu_grad_ref(xi);
      mag[i] = std::abs(double(dy[i])) * (1.0 + std::abs(xi) * (1.0 + xi * xi));
    }
    expect_close(to_host<T>(*this->backend, tdy), ref, mag, str("gelu_backward n=", n));
  }
}

// The tails: huge |x| gives x (or 0) and a derivative of 1 (or 0), never NaN.
TYPED_TEST(CpuElementwise, GeluTailsAreFinite) {
  using T = TypeParam;
  const std::vector<T> x = {T(-1e30), T(-50), T(50), T(1e30)};
  Tensor tx = to_device(*this->backend, {4}, x);
  Tensor out = this->backend->empty({4}, this->kDType), dx = this->backend->empty({4}, this->kDType);
  this->backend->run(ops::gelu, ops::GeluArgs{tx, out});
  this->backend->run(ops::gelu_backward,
                     ops::GeluBackwardArgs{tx, to_device(*this->backend, {4}, std::vector<T>(4, 1)), dx});
  EXPECT_THAT(to_host<T>(*this->backend, out), ::testing::ElementsAre(T(0), T(0), T(50), T(1e30)));
  EXPECT_THAT(to_host<T>(*this->backend, dx), ::testing::ElementsAre(T(0), T(0), T(1), T(1)));
}

TYPED_TEST(CpuElementwise, CopyContiguousAndStrided) {
  using T = TypeParam;
  for (std::int64_t n : kOddSizes) {
    const std::int64_t rows = 5;
    const auto src = random_values<T>(rows * (n + 2), 12 + n);
    Tensor tsrc = to_device(*this->backend, {rows, n + 2}, src);
    // A column slice (rows, n) into a contiguous tensor.
    Tensor dst = this->backend->empty({rows, n}, this->kDType);
    this->backend->run(ops::copy, ops::CopyArgs{tsrc.slice(1, 1, n), dst});
    // A transposed view (n, rows) of dst into another contiguous tensor.
    Tensor dst_t = this->backend->empty({n, rows}, this->kDType);
    this->backend->run(ops::copy, ops::CopyArgs{dst.transpose(0, 1), dst_t});
    // Contiguous to contiguous.
    Tensor same = this->backend->empty({rows, n + 2}, this->kDType);
    this->backend->run(ops::copy, ops::CopyArgs{tsrc, same});

    const auto got = to_host<T>(*this->backend, dst), got_t = to_host<T>(*this->backend, dst_t);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < n; ++c) {
        EXPECT_EQ(got[r * n + c], src[r * (n + 2) + 1 + c]);
        EXPECT_EQ(got_t[c * rows + r], src[r * (n + 2) + 1 + c]);
      }
    EXPECT_EQ(to_host<T>(*this->backend, same), src);
  }
}

// A copy into a strided destination (a 3-D view with every stride non-trivial) leaves the rest untouched.
TYPED_TEST(CpuElementwise, CopyIntoStrided3DView) {
  using T = TypeParam;
  const auto big0 = random_values<T>(4 * 9 * 6, 40);
  Tensor big = to_device(*this->backend, {4, 9, 6}, big0);
  Tensor view = big.slice(0, 1, 3).slice(1, 2, 7).slice(2, 1, 3).transpose(0, 2);  // (3, 7, 3)
  const auto src = random_values<T>(3 * 7 * 3, 41);
  this->backend->run(ops::copy, ops::CopyArgs{to_device(*this->backend, {3, 7, 3}, src), view});
  auto expected = big0;
  for (std::int64_t i = 0; i < 3; ++i)      // view dim 0 = big dim 2, offset 1
    for (std::int64_t j = 0; j < 7; ++j)    // view dim 1 = big dim 1, offset 2
      for (std::int64_t k = 0; k < 3; ++k)  // view dim 2 = big dim 0, offset 1
        expected[(k + 1) * 54 + (j + 2) * 6 + (i + 1)] = src[i * 21 + j * 3 + k];
  EXPECT_EQ(to_host<T>(*this->backend, big), expected);
}

// fill and copy for the integer dtypes (token ids, indices, bf16 bit patterns).
template <class T>
class CpuIntegerStorage : public ::testing::Test {};
using IntegerTypes = ::testing::Types<std::int32_t, std::int64_t, std::uint16_t>;
TYPED_TEST_SUITE(CpuIntegerStorage, IntegerTypes, DTypeNames);

TYPED_TEST(CpuIntegerStorage, FillAndCopy) {
  using T = TypeParam;
  auto backend = make_backend();
  for (std::int64_t n : kOddSizes) {
    Tensor a = backend->empty({n, 3}, dtype_of<T>());
    const double value = std::is_signed_v<T> ? -1234.0 : 65535.0;  // the extreme of u16 is exact too
    backend->run(ops::fill, ops::FillArgs{a, value});
    std::vector<T> values(n * 3);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<T>(i * 7 + 1);
    Tensor b = to_device(*backend, {n, 3}, values);
    Tensor b_t = backend->empty({3, n}, dtype_of<T>());
    backend->run(ops::copy, ops::CopyArgs{b.transpose(0, 1), b_t});
    for (T v : to_host<T>(*backend, a)) EXPECT_EQ(v, static_cast<T>(value));
    const auto got = to_host<T>(*backend, b_t);
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t c = 0; c < 3; ++c) EXPECT_EQ(got[c * n + r], values[r * 3 + c]);
  }
}

TEST(CpuElementwiseLimits, IntegerFillMustBeExact) {
  auto backend = make_backend();
  Tensor t = backend->empty({3}, DType::u16);
  EXPECT_THAT(
      [&] {
        backend->run(ops::fill, ops::FillArgs{t, 70000.0});
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("fill: value 70000 is not representable in u16")));
  Tensor i = backend->empty({3}, DType::i32);
  EXPECT_THAT(
      [&] {
        backend->run(ops::fill, ops::FillArgs{i, 0.5});
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("not representable in i32")));
}

TEST(CpuElementwiseLimits, EmptyTensorsAreFine) {
  auto backend = make_backend();
  Tensor e = backend->empty({0, 5}, DType::f32);
  backend->run(ops::fill, ops::FillArgs{e, 1.0});
  backend->run(ops::add, ops::BinaryArgs{e, e, e});
  backend->run(ops::copy, ops::CopyArgs{e.transpose(0, 1), backend->empty({5, 0}, DType::f32)});
  backend->run(ops::gelu, ops::GeluArgs{e, e});
  backend->synchronize();
}

}  // namespace
}  // namespace mtnlg::cpu::test
