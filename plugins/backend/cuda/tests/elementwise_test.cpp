// The elementwise ops (fill, copy, axpy, scale, add, mul, bias_add, gelu, gelu_backward) against the CPU
// backend in f64, in every floating dtype, on odd sizes, on views that are not 16-byte aligned (the kernels'
// one-element-at-a-time path) and with the aliasing ops.hpp allows; fill and copy also for the integer
// dtypes, and copy on strided views of up to 8 dimensions.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

constexpr std::int64_t kOddSizes[] = {1, 7, 1000003};

class ElementwiseConformance : public Conformance, public ::testing::WithParamInterface<DType> {
 protected:
  // A view of n elements that starts one element into a buffer of n + 1: not 16-byte aligned.
  Pair unaligned_random(std::int64_t n, DType dtype, double lo = -1.0, double hi = 1.0) {
    const Pair whole = random({n + 1}, dtype, lo, hi);
    return {std::vector<double>(whole.values.begin() + 1, whole.values.end()), whole.gpu.sub_buffer(1, {n}),
            whole.cpu.sub_buffer(1, {n})};
  }

  // Both results element for element, NaN equal to NaN: for ops that move values without arithmetic.
  void expect_equal(const Pair& out, const std::string& what) {
    const std::vector<double> got = gpu_values(out.gpu), ref = cpu_values(out.cpu);
    ASSERT_EQ(got.size(), ref.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i)
      if (!(got[i] == ref[i] || (std::isnan(got[i]) && std::isnan(ref[i])))) {
        ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", reference " << ref[i];
        return;
      }
  }
};

// Raw host <-> GPU transfers, for the dtypes conformance.hpp's pairs do not hold (i64, u16).
template <class T>
Tensor upload_raw(Backend& backend, const Shape& shape, DType dtype, const std::vector<T>& values) {
  Tensor t = backend.empty(shape, dtype);
  backend.upload(t, values.data());
  backend.synchronize();
  return t;
}

template <class T>
std::vector<T> download_raw(Backend& backend, const Tensor& t) {
  std::vector<T> values(static_cast<std::size_t>(t.numel()));
  backend.download(values.data(), t);
  backend.synchronize();
  return values;
}

TEST_P(ElementwiseConformance, FillWritesTheRoundedValue) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    Pair out = output({n}, dt);
    gpu().run(ops::fill, ops::FillArgs{out.gpu, -2.3});
    cpu().run(ops::fill, ops::FillArgs{out.cpu, round_to(dt, -2.3)});
    expect_equal(out, str("fill n=", n));
  }
}

// A view one element into its buffer: the kernel must write exactly the view, whatever the alignment.
TEST_P(ElementwiseConformance, FillOfAnUnalignedViewStaysInsideIt) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    Pair whole = output({n + 2}, dt);
    gpu().run(ops::fill, ops::FillArgs{whole.gpu.sub_buffer(1, {n}), 0.5});
    cpu().run(ops::fill, ops::FillArgs{whole.cpu.sub_buffer(1, {n}), 0.5});
    expect_equal(whole, str("fill of a view, n=", n));
  }
}

TEST_P(ElementwiseConformance, CopyContiguous) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    const Pair src = random({n}, dt);
    Pair dst = output({n}, dt);
    gpu().run(ops::copy, ops::CopyArgs{src.gpu, dst.gpu});
    cpu().run(ops::copy, ops::CopyArgs{src.cpu, dst.cpu});
    expect_equal(dst, str("copy n=", n));
  }
}

TEST_P(ElementwiseConformance, CopyTransposed) {
  const DType dt = GetParam();
  for (const auto& [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {33, 771}, {1000, 3}}) {
    const Pair src = random({rows, cols}, dt);
    Pair dst = output({cols, rows}, dt);
    gpu().run(ops::copy, ops::CopyArgs{src.gpu.transpose(0, 1), dst.gpu});
    cpu().run(ops::copy, ops::CopyArgs{src.cpu.transpose(0, 1), dst.cpu});
    expect_equal(dst, str("copy of a transposed (", rows, ", ", cols, ")"));
  }
}

// Strided on both sides: a sliced, transposed source into a slice of a larger destination, whose other
// elements must stay untouched (NaN on both backends).
TEST_P(ElementwiseConformance, CopyBetweenStridedViews) {
  const DType dt = GetParam();
  const Pair src = random({5, 7, 9}, dt);
  Pair dst = output({9, 4, 6}, dt);
  auto src_view = [](const Tensor& t) { return t.slice(1, 2, 4).transpose(0, 2); };  // (9, 4, 5)
  auto dst_view = [](const Tensor& t) { return t.slice(2, 1, 5); };                  // (9, 4, 5)
  gpu().run(ops::copy, ops::CopyArgs{src_view(src.gpu), dst_view(dst.gpu)});
  cpu().run(ops::copy, ops::CopyArgs{src_view(src.cpu), dst_view(dst.cpu)});
  expect_equal(dst, "copy between strided views");
}

TEST_P(ElementwiseConformance, CopyOfEightDimensions) {
  const DType dt = GetParam();
  const Shape shape = {2, 1, 3, 2, 1, 5, 3, 7};
  const Pair src = random(shape, dt);
  Shape transposed = shape;
  std::swap(transposed[0], transposed[7]);
  std::swap(transposed[2], transposed[5]);
  Pair dst = output(transposed, dt);
  auto view = [](const Tensor& t) { return t.transpose(0, 7).transpose(2, 5); };
  gpu().run(ops::copy, ops::CopyArgs{view(src.gpu), dst.gpu});
  cpu().run(ops::copy, ops::CopyArgs{view(src.cpu), dst.cpu});
  expect_equal(dst, "copy of an 8-d transposed view");
}

TEST_P(ElementwiseConformance, CopyOntoItselfAndOfNothing) {
  const DType dt = GetParam();
  const Pair x = random({33, 7}, dt);
  gpu().run(ops::copy, ops::CopyArgs{x.gpu, x.gpu});
  gpu().run(ops::copy, ops::CopyArgs{x.gpu.transpose(0, 1), x.gpu.transpose(0, 1)});
  EXPECT_EQ(gpu_values(x.gpu), x.values);
  const Pair empty_src = random({0, 5}, dt);
  Pair empty_dst = output({5, 0}, dt);
  gpu().run(ops::copy, ops::CopyArgs{empty_src.gpu.transpose(0, 1), empty_dst.gpu});
  gpu().synchronize();
}

TEST_P(ElementwiseConformance, Axpy) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    const Pair x = random({n}, dt);
    Pair y = random({n}, dt);
    gpu().run(ops::axpy, ops::AxpyArgs{x.gpu, y.gpu, -0.7});
    cpu().run(ops::axpy, ops::AxpyArgs{x.cpu, y.cpu, -0.7});
    expect_close(y, dt, str("axpy n=", n));

    const Pair xu = unaligned_random(n, dt);
    Pair yu = unaligned_random(n, dt);
    gpu().run(ops::axpy, ops::AxpyArgs{xu.gpu, yu.gpu, 1.5});
    cpu().run(ops::axpy, ops::AxpyArgs{xu.cpu, yu.cpu, 1.5});
    expect_close(yu, dt, str("axpy of unaligned views, n=", n));

    Pair xy = random({n}, dt);  // y += alpha · y
    gpu().run(ops::axpy, ops::AxpyArgs{xy.gpu, xy.gpu, 0.25});
    cpu().run(ops::axpy, ops::AxpyArgs{xy.cpu, xy.cpu, 0.25});
    expect_close(xy, dt, str("axpy with x = y, n=", n));
  }
}

TEST_P(ElementwiseConformance, Scale) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    Pair x = random({n}, dt);
    gpu().run(ops::scale, ops::ScaleArgs{x.gpu, -1.7});
    cpu().run(ops::scale, ops::ScaleArgs{x.cpu, -1.7});
    expect_close(x, dt, str("scale n=", n));

    Pair xu = unaligned_random(n, dt);
    gpu().run(ops::scale, ops::ScaleArgs{xu.gpu, 3.0});
    cpu().run(ops::scale, ops::ScaleArgs{xu.cpu, 3.0});
    expect_close(xu, dt, str("scale of an unaligned view, n=", n));
  }
}

TEST_P(ElementwiseConformance, AddAndMul) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    const Pair a = random({n}, dt), b = random({n}, dt);
    Pair sum = output({n}, dt), product = output({n}, dt);
    gpu().run(ops::add, ops::BinaryArgs{a.gpu, b.gpu, sum.gpu});
    cpu().run(ops::add, ops::BinaryArgs{a.cpu, b.cpu, sum.cpu});
    expect_close(sum, dt, str("add n=", n));
    gpu().run(ops::mul, ops::BinaryArgs{a.gpu, b.gpu, product.gpu});
    cpu().run(ops::mul, ops::BinaryArgs{a.cpu, b.cpu, product.cpu});
    expect_close(product, dt, str("mul n=", n));

    const Pair au = unaligned_random(n, dt), bu = unaligned_random(n, dt);
    Pair outu = unaligned_random(n, dt);
    gpu().run(ops::add, ops::BinaryArgs{au.gpu, bu.gpu, outu.gpu});
    cpu().run(ops::add, ops::BinaryArgs{au.cpu, bu.cpu, outu.cpu});
    expect_close(outu, dt, str("add of unaligned views, n=", n));
  }
}

// out may be a or b: each element is read before it is written.
TEST_P(ElementwiseConformance, AddAndMulIntoAnInput) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    Pair a = random({n}, dt), b = random({n}, dt);
    gpu().run(ops::add, ops::BinaryArgs{a.gpu, b.gpu, a.gpu});
    cpu().run(ops::add, ops::BinaryArgs{a.cpu, b.cpu, a.cpu});
    expect_close(a, dt, str("add into a, n=", n));
    gpu().run(ops::mul, ops::BinaryArgs{a.gpu, b.gpu, b.gpu});
    cpu().run(ops::mul, ops::BinaryArgs{a.cpu, b.cpu, b.cpu});
    expect_close(b, dt, str("mul into b, n=", n));
  }
}

TEST_P(ElementwiseConformance, BiasAdd) {
  const DType dt = GetParam();
  for (const Shape& shape :
       {Shape{1, 1}, Shape{7, 33}, Shape{300, 771}, Shape{4, 3, 64}, Shape{1000, 96}, Shape{1000003, 1}}) {
    const std::int64_t cols = shape.back();
    const Pair x = random(shape, dt), bias = random({cols}, dt);
    Pair out = output(shape, dt);
    gpu().run(ops::bias_add, ops::BiasAddArgs{x.gpu, bias.gpu, out.gpu});
    cpu().run(ops::bias_add, ops::BiasAddArgs{x.cpu, bias.cpu, out.cpu});
    expect_close(out, dt, str("bias_add ", shape_str(shape)));

    Pair in_place = random(shape, dt);
    gpu().run(ops::bias_add, ops::BiasAddArgs{in_place.gpu, bias.gpu, in_place.gpu});
    cpu().run(ops::bias_add, ops::BiasAddArgs{in_place.cpu, bias.cpu, in_place.cpu});
    expect_close(in_place, dt, str("bias_add in place ", shape_str(shape)));
  }
}

// Columns a multiple of the 16-byte pack but a view one row of 8 into its buffer: the element-wise path.
TEST_P(ElementwiseConformance, BiasAddOfAnUnalignedView) {
  const DType dt = GetParam();
  const Pair whole = random({1 + 50 * 64}, dt), bias = random({64}, dt);
  Pair out = output({50, 64}, dt);
  gpu().run(ops::bias_add, ops::BiasAddArgs{whole.gpu.sub_buffer(1, {50, 64}), bias.gpu, out.gpu});
  cpu().run(ops::bias_add, ops::BiasAddArgs{whole.cpu.sub_buffer(1, {50, 64}), bias.cpu, out.cpu});
  expect_close(out, dt, "bias_add of an unaligned view");
}

TEST_P(ElementwiseConformance, Gelu) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    // x ≥ −3.5: further left, gelu(x) is below f16's smallest normal (6.1e-5), where one element of n = 1
    // would be held to 2e-3 relative on a subnormal. GeluTails covers the far tails.
    const Pair x = random({n}, dt, -3.5, 6.0);
    Pair out = output({n}, dt);
    gpu().run(ops::gelu, ops::GeluArgs{x.gpu, out.gpu});
    cpu().run(ops::gelu, ops::GeluArgs{x.cpu, out.cpu});
    expect_close(out, dt, str("gelu n=", n));

    Pair in_place = unaligned_random(n, dt, -3.5, 6.0);
    gpu().run(ops::gelu, ops::GeluArgs{in_place.gpu, in_place.gpu});
    cpu().run(ops::gelu, ops::GeluArgs{in_place.cpu, in_place.cpu});
    expect_close(in_place, dt, str("gelu in place on an unaligned view, n=", n));
  }
}

// Far tails, where x³ overflows f32 and σ(2u) saturates: finite, and the CPU's values.
TEST_P(ElementwiseConformance, GeluTails) {
  const DType dt = GetParam();
  const std::vector<double> values = {-6e4, -1e4, -50.0, -10.0, -3.0, -1e-3, 0.0,
                                      1e-3, 3.0,  10.0,  50.0,  1e4,  6e4};
  const auto n = static_cast<std::int64_t>(values.size());
  const Pair x = from_values({n}, dt, values), dy = random({n}, dt);
  Pair out = output({n}, dt), dx = output({n}, dt);
  gpu().run(ops::gelu, ops::GeluArgs{x.gpu, out.gpu});
  cpu().run(ops::gelu, ops::GeluArgs{x.cpu, out.cpu});
  expect_close(out, dt, "gelu tails");
  gpu().run(ops::gelu_backward, ops::GeluBackwardArgs{x.gpu, dy.gpu, dx.gpu});
  cpu().run(ops::gelu_backward, ops::GeluBackwardArgs{x.cpu, dy.cpu, dx.cpu});
  expect_close(dx, dt, "gelu_backward tails");
}

TEST_P(ElementwiseConformance, GeluBackward) {
  const DType dt = GetParam();
  for (std::int64_t n : kOddSizes) {
    const Pair x = random({n}, dt, -3.5, 6.0), dy = random({n}, dt);  // x ≥ −3.5: as for Gelu
    Pair dx = output({n}, dt);
    gpu().run(ops::gelu_backward, ops::GeluBackwardArgs{x.gpu, dy.gpu, dx.gpu});
    cpu().run(ops::gelu_backward, ops::GeluBackwardArgs{x.cpu, dy.cpu, dx.cpu});
    expect_close(dx, dt, str("gelu_backward n=", n));

    Pair dy_in_place = random({n}, dt);  // dx = dy
    gpu().run(ops::gelu_backward, ops::GeluBackwardArgs{x.gpu, dy_in_place.gpu, dy_in_place.gpu});
    cpu().run(ops::gelu_backward, ops::GeluBackwardArgs{x.cpu, dy_in_place.cpu, dy_in_place.cpu});
    expect_close(dy_in_place, dt, str("gelu_backward into dy, n=", n));
  }
}

INSTANTIATE_TEST_SUITE_P(Floating, ElementwiseConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

// ---- Integer dtypes: fill and copy move bits only --------------------------------------------------------

class IntegerConformance : public Conformance {};

TEST_F(IntegerConformance, FillAndCopyOfI32) {
  const Pair tokens_pair = tokens({33, 771}, 50257);
  Pair dst = output({771, 33}, DType::i32);
  gpu().run(ops::copy, ops::CopyArgs{tokens_pair.gpu.transpose(0, 1), dst.gpu});
  cpu().run(ops::copy, ops::CopyArgs{tokens_pair.cpu.transpose(0, 1), dst.cpu});
  EXPECT_EQ(gpu_values(dst.gpu), cpu_values(dst.cpu));
  Pair filled = output({1000003}, DType::i32);
  gpu().run(ops::fill, ops::FillArgs{filled.gpu, -2147483648.0});
  EXPECT_EQ(gpu_values(filled.gpu), std::vector<double>(1000003, -2147483648.0));
}

TEST_F(IntegerConformance, FillAndCopyOfI64) {
  const std::int64_t big = (std::int64_t{1} << 40) + 3;
  Tensor filled = gpu().empty({7}, DType::i64);
  gpu().run(ops::fill, ops::FillArgs{filled, static_cast<double>(big)});
  EXPECT_EQ(download_raw<std::int64_t>(gpu(), filled), std::vector<std::int64_t>(7, big));

  std::vector<std::int64_t> values(5 * 9);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = big * static_cast<std::int64_t>(i) - 17;
  const Tensor src = upload_raw(gpu(), {5, 9}, DType::i64, values);
  Tensor dst = gpu().empty({9, 5}, DType::i64);
  gpu().run(ops::copy, ops::CopyArgs{src.transpose(0, 1), dst});
  const std::vector<std::int64_t> got = download_raw<std::int64_t>(gpu(), dst);
  for (std::int64_t r = 0; r < 9; ++r)
    for (std::int64_t c = 0; c < 5; ++c)
      EXPECT_EQ(got[r * 5 + c], values[c * 9 + r]) << "(" << r << ", " << c << ")";
}

TEST_F(IntegerConformance, FillAndCopyOfU16) {
  Tensor filled = gpu().empty({1000003}, DType::u16);
  gpu().run(ops::fill, ops::FillArgs{filled, 65535.0});
  EXPECT_EQ(download_raw<std::uint16_t>(gpu(), filled), std::vector<std::uint16_t>(1000003, 65535));

  std::vector<std::uint16_t> values(7 * 33);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::uint16_t>(i * 283);
  const Tensor src = upload_raw(gpu(), {7, 33}, DType::u16, values);
  Tensor dst = gpu().empty({33, 7}, DType::u16);
  gpu().run(ops::copy, ops::CopyArgs{src.transpose(0, 1), dst});
  const std::vector<std::uint16_t> got = download_raw<std::uint16_t>(gpu(), dst);
  for (std::int64_t r = 0; r < 33; ++r)
    for (std::int64_t c = 0; c < 7; ++c)
      EXPECT_EQ(got[r * 7 + c], values[c * 33 + r]) << "(" << r << ", " << c << ")";
}

}  // namespace
}  // namespace mtnlg::cuda::test
