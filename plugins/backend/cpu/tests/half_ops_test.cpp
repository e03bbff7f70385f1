// Every floating op of the CPU backend on bf16 and f16 against its f32 kernel: the same 16-bit values, as
// f32, through the f32 kernel, then rounded to 16 bits, must give the 16-bit kernel's result.
//  - Kernels that compute in float (elementwise ops, gemm, the embedding gather, row_max, target_logit) match
//    bit for bit.
//  - Kernels that accumulate in double round the double once to 16 bits where the f32 kernel rounds it to
//  f32.
//    The two agree except where the f32 result lies exactly halfway between two 16-bit values (rounding to
//    f32 can make a tie that the double was not, and the tie then goes to even): there the 16-bit result must
//    be one of those two values. Nothing else is tolerated.
// Also: the cast op, and 16-bit results independent of the thread count.
#include <gtest/gtest-spi.h>

#include <bit>
#include <limits>

#include "backend_fixture.hpp"
#include "mtnlg/half.hpp"

namespace mtnlg::cpu::test {
namespace {

template <class H>
H round_to(double x) {
  if constexpr (std::is_same_v<H, bf16>)
    return to_bf16(x);
  else
    return to_f16(x);
}

// The value of a 16-bit pattern, with ∞ read as the power of two after the largest finite value: the grid
// point that the overflow threshold lies halfway to.
template <class H>
double grid_value(std::uint16_t bits) {
  const float v = to_float(H{bits});
  if (!std::isinf(v)) return v;
  const double next = std::is_same_v<H, bf16> ? 0x1p128 : 0x1p16;
  return v < 0 ? -next : next;
}

// Whether r lies exactly halfway between `want` (r rounded to H) and its other neighbour, stored in *other.
template <class H>
bool is_tie(float r, H want, std::uint16_t* other) {
  const double w = grid_value<H>(want.bits);
  if (std::isnan(r) || w == static_cast<double>(r)) return false;
  const bool away_from_zero = std::abs(static_cast<double>(r)) > std::abs(w);
  *other = static_cast<std::uint16_t>(away_from_zero ? want.bits + 1 : want.bits - 1);
  return (w + grid_value<H>(*other)) / 2 == static_cast<double>(r);
}

enum class Rounding {
  exact,             // the kernel computes in float: round(f32 result), bit for bit
  once_from_double,  // the kernel accumulates in double: as exact, or the other side of an f32-made tie
};

template <class H>
void expect_rounded(const std::vector<H>& got, const std::vector<float>& ref, Rounding rounding,
                    const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  int reported = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const H want = round_to<H>(ref[i]);
    if (got[i].bits == want.bits || (std::isnan(ref[i]) && std::isnan(to_float(got[i])))) continue;
    std::uint16_t other = 0;
    if (rounding == Rounding::once_from_double && is_tie<H>(ref[i], want, &other) && got[i].bits == other)
      continue;
    if (reported++ < 5)
      ADD_FAILURE() << what << ": element " << i << " is 0x" << std::hex << got[i].bits << " ("
                    << to_float(got[i]) << "), but the f32 kernel's " << std::hexfloat << ref[i]
                    << " rounds to 0x" << std::hex << want.bits << " (" << to_float(want) << ")";
  }
}

// The same values on the backend twice: in the 16-bit dtype under test and in f32.
struct Twin {
  Tensor half, wide;
  // The tensor of one run: the 16-bit one or the f32 one.
  const Tensor& in(bool is_half) const { return is_half ? half : wide; }
};

template <class H>
class CpuHalf : public ::testing::Test {
 protected:
  static constexpr DType kDType = dtype_of<H>();
  std::unique_ptr<CpuBackend> backend = make_backend();
  Backend& b() { return *backend; }

  Twin twin(Shape shape, const std::vector<H>& values) {
    std::vector<float> wide(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) wide[i] = to_float(values[i]);
    return {to_device(b(), shape, values), to_device(b(), std::move(shape), wide)};
  }
  // Uniform in [lo, hi), rounded to H.
  Twin random(Shape shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
    std::vector<H> values(static_cast<std::size_t>(shape_numel(shape)));
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> dist(lo, hi);
    for (H& v : values) v = round_to<H>(dist(rng));
    return twin(std::move(shape), values);
  }
  // A 16-bit result as the input of another op, in both dtypes.
  Twin twin_of(const Tensor& half) { return twin(half.shape(), to_host<H>(b(), half)); }
  Twin empty(const Shape& shape) { return {b().empty(shape, kDType), b().empty(shape, DType::f32)}; }
  Tensor tokens(Shape shape, std::int32_t limit, std::uint64_t seed) {
    const auto n = static_cast<std::size_t>(shape_numel(shape));
    return to_device(b(), std::move(shape), random_tokens(n, limit, seed));
  }

  void expect(const Twin& out, Rounding rounding, const std::string& what) {
    expect_rounded(to_host<H>(b(), out.half), to_host<float>(b(), out.wide), rounding,
                   str(dtype_name(kDType), " ", what));
  }
};

// The one tolerance above admits only exact ties, and only their other neighbour.
TEST(CpuHalfTolerance, OnlyATieMayRoundEitherWay) {
  std::uint16_t other = 0;
  EXPECT_TRUE(is_tie<bf16>(1.0f + 0x1p-8f, bf16{0x3f80}, &other));
  EXPECT_EQ(other, 0x3f81);
  EXPECT_TRUE(is_tie<f16>(-(1.0f + 3 * 0x1p-11f), f16{0xbc02}, &other));
  EXPECT_EQ(other, 0xbc01);
  EXPECT_TRUE(is_tie<f16>(65520.0f, f16{0x7c00}, &other));  // the overflow threshold: inf or 65504
  EXPECT_EQ(other, 0x7bff);
  EXPECT_FALSE(is_tie<bf16>(1.0f + 0x1p-8f + 0x1p-20f, bf16{0x3f81}, &other));
  EXPECT_FALSE(is_tie<bf16>(1.0f, bf16{0x3f80}, &other));
  expect_rounded<bf16>({bf16{0x3f81}}, {1.0f + 0x1p-8f}, Rounding::once_from_double, "a tie, rounded up");
  EXPECT_NONFATAL_FAILURE(
      expect_rounded<bf16>({bf16{0x3f81}}, {1.0f + 0x1p-8f}, Rounding::exact, "a tie, rounded up"),
      "rounds to 0x3f80");
  EXPECT_NONFATAL_FAILURE(expect_rounded<bf16>({bf16{0x3f82}}, {1.0f + 0x1p-8f + 0x1p-20f},
                                               Rounding::once_from_double, "not a tie"),
                          "rounds to 0x3f81");
}

using HalfTypes = ::testing::Types<bf16, f16>;
TYPED_TEST_SUITE(CpuHalf, HalfTypes, DTypeNames);

TYPED_TEST(CpuHalf, ElementwiseOpsRoundTheF32Result) {
  for (const Shape& shape : {Shape{7}, Shape{3, 7, 65}, Shape{70001}}) {  // 70001: three parallel chunks
    const std::int64_t n = shape.back();
    const Twin x = this->random(shape, 1, -6.0, 6.0), y = this->random(shape, 2), bias = this->random({n}, 3);
    const Twin axpy = this->random(shape, 4), scaled = this->random(shape, 5),
               product = this->random(shape, 6);
    const Twin sum = this->empty(shape), biased = this->empty(shape), gelu = this->empty(shape),
               dgelu = this->empty(shape);
    for (bool h : {true, false}) {
      this->b().run(ops::axpy, ops::AxpyArgs{x.in(h), axpy.in(h), -0.7});
      this->b().run(ops::scale, ops::ScaleArgs{scaled.in(h), 1.3});
      this->b().run(ops::add, ops::BinaryArgs{x.in(h), y.in(h), sum.in(h)});
      this->b().run(ops::mul, ops::BinaryArgs{product.in(h), y.in(h), product.in(h)});  // out aliases a
      this->b().run(ops::bias_add, ops::BiasAddArgs{x.in(h), bias.in(h), biased.in(h)});
      this->b().run(ops::gelu, ops::GeluArgs{x.in(h), gelu.in(h)});
      this->b().run(ops::gelu_backward, ops::GeluBackwardArgs{x.in(h), y.in(h), dgelu.in(h)});
    }
    const std::string size = shape_str(shape);
    this->expect(axpy, Rounding::exact, "axpy " + size);
    this->expect(scaled, Rounding::exact, "scale " + size);
    this->expect(sum, Rounding::exact, "add " + size);
    this->expect(product, Rounding::exact, "mul " + size);
    this->expect(biased, Rounding::exact, "bias_add " + size);
    this->expect(gelu, Rounding::exact, "gelu " + size);
    this->expect(dgelu, Rounding::exact, "gelu_backward " + size);
  }
}

TYPED_TEST(CpuHalf, FillRoundsTheValueOnceAndCopyMovesBits) {
  using H = TypeParam;
  Tensor out = this->b().empty({5, 3}, this->kDType);
  // 1 + 2^-8 + 2^-40 (bf16) and 1 + 2^-11 + 2^-40 (f16) lie just above a tie: rounding through f32 would
  // drop the 2^-40 and round the tie down to even.
  const double value = std::is_same_v<H, bf16> ? 1.0 + 0x1p-8 + 0x1p-40 : 1.0 + 0x1p-11 + 0x1p-40;
  this->b().run(ops::fill, ops::FillArgs{out, value});
  const std::uint16_t up = std::is_same_v<H, bf16> ? 0x3f81 : 0x3c01;
  for (H v : to_host<H>(this->b(), out)) EXPECT_EQ(v.bits, up);

  const Twin x = this->random({5, 3}, 7);
  Tensor copied = this->b().empty({3, 5}, this->kDType);
  this->b().run(ops::copy, ops::CopyArgs{x.half.transpose(0, 1), copied});
  const auto src = to_host<H>(this->b(), x.half), dst = to_host<H>(this->b(), copied);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(dst[j * 5 + i].bits, src[i * 3 + j].bits) << i << ", " << j;
}

// A gemm of the cases below: c = alpha·op(a)·op(b) + beta·c, with the stored shapes.
struct GemmCase {
  const char* name;
  Shape a, b, c;
  bool trans_a, trans_b;
  double alpha, beta;
};

TYPED_TEST(CpuHalf, GemmIsSgemmOnTheWidenedOperandsRounded) {
  const GemmCase cases[] = {
      {"plain", {17, 257}, {257, 9}, {17, 9}, false, false, 1.0, 0.0},
      {"transposed, alpha and beta", {33, 17}, {9, 33}, {17, 9}, true, true, 0.5, -1.25},
      {"batched", {3, 5, 40}, {3, 40, 7}, {3, 5, 7}, false, false, 1.0, 1.0},
      {"K = 0: c = beta·c", {4, 0}, {0, 6}, {4, 6}, false, false, 1.0, 2.5},
  };
  std::uint64_t seed = 10;
  for (const GemmCase& c : cases) {
    const Twin a = this->random(c.a, ++seed), b = this->random(c.b, ++seed), out = this->random(c.c, ++seed);
    for (bool h : {true, false})
      this->b().run(ops::gemm,
                    ops::GemmArgs{a.in(h), b.in(h), out.in(h), c.trans_a, c.trans_b, c.alpha, c.beta});
    this->expect(out, Rounding::exact, str("gemm ", c.name));
  }
  // Strided views: columns 3..35 of a (9, 40) matrix, into rows 1..9 of an (11, 5) one. The f32 reference
  // runs on contiguous copies (the 16-bit path multiplies contiguous f32 copies).
  const Twin a = this->random({9, 40}, 30), b = this->random({33, 5}, 31), c = this->random({11, 5}, 32);
  Tensor a_dense = this->b().empty({9, 33}, DType::f32), c_dense = this->b().empty({9, 5}, DType::f32);
  this->b().run(ops::copy, ops::CopyArgs{a.wide.slice(1, 3, 33), a_dense});
  this->b().run(ops::copy, ops::CopyArgs{c.wide.slice(0, 1, 9), c_dense});
  this->b().run(ops::gemm, ops::GemmArgs{a.half.slice(1, 3, 33), b.half, c.half.slice(0, 1, 9), false, false,
                                         1.0, 0.75});
  this->b().run(ops::gemm, ops::GemmArgs{a_dense, b.wide, c_dense, false, false, 1.0, 0.75});
  this->b().run(ops::copy, ops::CopyArgs{c_dense, c.wide.slice(0, 1, 9)});
  this->expect(c, Rounding::exact, "gemm on strided views (rows 0 and 10 untouched)");
}

// Past one tile (512 rows or columns of c, 1024 of depth) the 16-bit gemm multiplies f32 tiles and sums the
// depth in f32 block by block, so it is held to the f64 product within f32 summation error and one 16-bit
// rounding, every element (c is NaN-poisoned where beta = 0, so an element left unwritten fails).
TYPED_TEST(CpuHalf, GemmBeyondOneTileIsTheProductWithinF32SummationError) {
  using H = TypeParam;
  const GemmCase cases[] = {
      {"rows and columns over a tile", {600, 70}, {70, 530}, {600, 530}, false, false, 1.0, 0.0},
      {"depth over a tile, transposed", {1100, 37}, {45, 1100}, {37, 45}, true, true, 0.5, -1.25},
      {"batched, rows and depth", {2, 513, 1025}, {2, 1025, 20}, {2, 513, 20}, false, false, 1.0, 1.0},
  };
  const double unit = std::is_same_v<H, bf16> ? 0x1p-8 : 0x1p-11;  // half an ulp, relative
  std::uint64_t seed = 40;
  for (const GemmCase& c : cases) {
    const Twin a = this->random(c.a, ++seed), b = this->random(c.b, ++seed), out = this->random(c.c, ++seed);
    if (c.beta == 0.0) this->b().run(ops::fill, ops::FillArgs{out.half, std::nan("")});
    const std::vector<float> av = to_host<float>(this->b(), a.wide), bv = to_host<float>(this->b(), b.wide),
                             cv = to_host<float>(this->b(), out.wide);
    this->b().run(ops::gemm, ops::GemmArgs{a.half, b.half, out.half, c.trans_a, c.trans_b, c.alpha, c.beta});
    const std::vector<H> got = to_host<H>(this->b(), out.half);
    const std::int64_t batch = c.c.size() == 3 ? c.c[0] : 1, m = c.c[c.c.size() - 2], n = c.c.back();
    const std::int64_t k = c.trans_a ? c.a[c.a.size() - 2] : c.a.back();
    // gamma_(k+2): the relative error bound of an f32 sum of k products, alpha and beta·c.
    const double gamma = static_cast<double>(k + 2) * 0x1p-24 / (1.0 - static_cast<double>(k + 2) * 0x1p-24);
    int reported = 0;
    for (std::int64_t bi = 0; bi < batch; ++bi)
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double sum = 0.0, magnitude = 0.0;
          for (std::int64_t p = 0; p < k; ++p) {
            const double x = av[bi * m * k + (c.trans_a ? p * m + i : i * k + p)];
            const double y = bv[bi * k * n + (c.trans_b ? j * k + p : p * n + j)];
            sum += x * y;
            magnitude += std::abs(x * y);
          }
          const std::int64_t at = bi * m * n + i * n + j;
          const double before = c.beta == 0.0 ? 0.0 : c.beta * cv[at];
          const double want = c.alpha * sum + before;
          const double f32_error = gamma * (std::abs(c.alpha) * magnitude + std::abs(before));
          const double bound = f32_error + unit * (std::abs(want) + f32_error) + 0x1p-25;
          const double value = to_float(got[at]);
          if (!(std::abs(value - want) <= bound) && reported++ < 5)
            ADD_FAILURE() << dtype_name(this->kDType) << " gemm " << c.name << ": element (" << bi << ", "
                          << i << ", " << j << ") is " << value << ", the product is " << want << " (bound "
                          << bound << ")";
        }
  }
}

TYPED_TEST(CpuHalf, ReductionsRoundTheDoubleSumOnce) {
  // 200 rows: four row blocks of column_sum; 20001 elements: three blocks of squared_norm.
  const Twin x = this->random({200, 67}, 40), colsum = this->random({67}, 41),
             long_x = this->random({20001}, 42);
  const Twin norm = this->empty({1});
  for (bool h : {true, false}) {
    this->b().run(ops::column_sum, ops::ColumnSumArgs{x.in(h), colsum.in(h), 0.5});
    this->b().run(ops::squared_norm, ops::SquaredNormArgs{long_x.in(h), norm.in(h)});
  }
  this->expect(colsum, Rounding::once_from_double, "column_sum");
  this->expect(norm, Rounding::once_from_double, "squared_norm");
}

TYPED_TEST(CpuHalf, Embedding) {
  const std::int64_t bs = 3, t = 11, c = 19, rows = 23, full_rows = 40, offset = 12;
  const Tensor tokens = this->tokens({bs, t}, 37, 50);  // inside and outside the slice [12, 35)
  const Twin table = this->random({rows, c}, 51), positions = this->random({t + 2, c}, 52);
  const Twin out = this->empty({bs, t, c}), dout = this->random({bs, t, c}, 53);
  const Twin dtable = this->random({rows, c}, 54), dpositions = this->random({t + 2, c}, 55);
  for (bool h : {true, false}) {
    this->b().run(ops::embedding,
                  ops::EmbeddingArgs{tokens, table.in(h), positions.in(h), out.in(h), 37, offset, full_rows});
    this->b().run(ops::embedding_backward, ops::EmbeddingBackwardArgs{tokens, dout.in(h), dtable.in(h),
                                                                      dpositions.in(h), offset, full_rows});
  }
  this->expect(out, Rounding::exact, "embedding");
  this->expect(dtable, Rounding::once_from_double, "embedding_backward dtable");
  this->expect(dpositions, Rounding::once_from_double, "embedding_backward dpositions");
}

TYPED_TEST(CpuHalf, LayerNorm) {
  const std::int64_t n = 70, c = 33;  // 70 rows: two row blocks for dgamma and dbeta
  const Twin x = this->random({n, c}, 60, -3.0, 5.0), gamma = this->random({c}, 61),
             beta = this->random({c}, 62);
  const Twin out = this->empty({n, c}), mean = this->empty({n}), rstd = this->empty({n});
  for (bool h : {true, false})
    this->b().run(ops::layernorm, ops::LayerNormArgs{x.in(h), gamma.in(h), beta.in(h), out.in(h), mean.in(h),
                                                     rstd.in(h), 1e-5});
  this->expect(out, Rounding::once_from_double, "layernorm out");
  this->expect(mean, Rounding::once_from_double, "layernorm mean");
  this->expect(rstd, Rounding::once_from_double, "layernorm rstd");

  // The backward pass from the 16-bit forward's statistics, given to both runs.
  const Twin saved_mean = this->twin_of(mean.half), saved_rstd = this->twin_of(rstd.half);
  const Twin dy = this->random({n, c}, 63), dx = this->empty({n, c});
  const Twin dgamma = this->random({c}, 64), dbeta = this->random({c}, 65);
  for (bool h : {true, false})
    this->b().run(ops::layernorm_backward,
                  ops::LayerNormBackwardArgs{dy.in(h), x.in(h), gamma.in(h), saved_mean.in(h),
                                             saved_rstd.in(h), dx.in(h), dgamma.in(h), dbeta.in(h)});
  this->expect(dx, Rounding::once_from_double, "layernorm_backward dx");
  this->expect(dgamma, Rounding::once_from_double, "layernorm_backward dgamma");
  this->expect(dbeta, Rounding::once_from_double, "layernorm_backward dbeta");
}

TYPED_TEST(CpuHalf, CausalSoftmax) {
  const Twin scores = this->random({3, 17, 17}, 70, -4.0, 4.0), probs = this->empty({3, 17, 17});
  for (bool h : {true, false})
    this->b().run(ops::causal_softmax, ops::CausalSoftmaxArgs{scores.in(h), probs.in(h), 0.7});
  this->expect(probs, Rounding::once_from_double, "causal_softmax");

  const Twin p = this->twin_of(probs.half), dprobs = this->random({3, 17, 17}, 71);
  for (bool h : {true, false})  // in place: dscores = dprobs
    this->b().run(ops::causal_softmax_backward,
                  ops::CausalSoftmaxBackwardArgs{p.in(h), dprobs.in(h), dprobs.in(h), 0.7});
  this->expect(dprobs, Rounding::once_from_double, "causal_softmax_backward");
}

TYPED_TEST(CpuHalf, FlashAttention) {
  const Shape heads = {3, 17, 8};
  const Twin q = this->random(heads, 80, -2.0, 2.0), k = this->random(heads, 81, -2.0, 2.0),
             v = this->random(heads, 82), out = this->empty(heads);
  // lse is f32 for 16-bit operands: the same tensor type in both runs, so it must match bit for bit.
  const Tensor lse_half = this->b().empty({3, 17}, DType::f32),
               lse_wide = this->b().empty({3, 17}, DType::f32);
  for (bool h : {true, false})
    this->b().run(ops::flash_attention, ops::FlashAttentionArgs{q.in(h), k.in(h), v.in(h), out.in(h),
                                                                h ? lse_half : lse_wide, 0.35});
  this->expect(out, Rounding::once_from_double, "flash_attention out");
  EXPECT_TRUE(bitwise_equal(to_host<float>(this->b(), lse_half), to_host<float>(this->b(), lse_wide)));

  const Twin saved_out = this->twin_of(out.half), dout = this->random(heads, 83);
  const Twin dq = this->empty(heads), dk = this->empty(heads), dv = this->empty(heads);
  for (bool h : {true, false})
    this->b().run(ops::flash_attention_backward,
                  ops::FlashAttentionBackwardArgs{q.in(h), k.in(h), v.in(h), saved_out.in(h), lse_half,
                                                  dout.in(h), dq.in(h), dk.in(h), dv.in(h), 0.35});
  this->expect(dq, Rounding::once_from_double, "flash_attention_backward dq");
  this->expect(dk, Rounding::once_from_double, "flash_attention_backward dk");
  this->expect(dv, Rounding::once_from_double, "flash_attention_backward dv");
}

TYPED_TEST(CpuHalf, CrossEntropy) {
  const std::int64_t n = 13, v = 57, valid = 50;
  const Twin logits = this->random({n, v}, 90, -5.0, 5.0), losses = this->empty({n}),
             dlogits = this->empty({n, v});
  const Tensor targets = this->tokens({n}, valid, 91);
  for (bool h : {true, false}) {
    this->b().run(ops::cross_entropy, ops::CrossEntropyArgs{logits.in(h), targets, losses.in(h), valid});
    this->b().run(ops::cross_entropy_backward,
                  ops::CrossEntropyBackwardArgs{logits.in(h), targets, dlogits.in(h), valid, 0.25});
  }
  this->expect(losses, Rounding::once_from_double, "cross_entropy");
  this->expect(dlogits, Rounding::once_from_double, "cross_entropy_backward");
}

TYPED_TEST(CpuHalf, VocabularyParallelCrossEntropy) {
  // One slice: columns [20, 60) of the full logits, of which the first 30 are real vocabulary.
  const std::int64_t n = 13, vl = 40, offset = 20, valid = 30;
  const Twin logits = this->random({n, vl}, 100, -5.0, 5.0), row_max = this->empty({n});
  const Tensor targets = this->tokens({n}, 70, 101);  // in this slice, in others, or padding
  for (bool h : {true, false})
    this->b().run(ops::row_max, ops::RowMaxArgs{logits.in(h), row_max.in(h), valid});
  this->expect(row_max, Rounding::exact, "row_max");

  const Twin max = this->twin_of(row_max.half), sum_exp = this->empty({n}), target_logit = this->empty({n});
  for (bool h : {true, false})
    this->b().run(ops::cross_entropy_partial,
                  ops::CrossEntropyPartialArgs{logits.in(h), targets, max.in(h), sum_exp.in(h),
                                               target_logit.in(h), offset, valid});
  this->expect(sum_exp, Rounding::once_from_double, "cross_entropy_partial sum_exp");
  this->expect(target_logit, Rounding::exact, "cross_entropy_partial target_logit");

  const Twin sums = this->twin_of(sum_exp.half), target = this->twin_of(target_logit.half);
  const Twin losses = this->empty({n}), dlogits = this->empty({n, vl});
  for (bool h : {true, false}) {
    this->b().run(ops::cross_entropy_from_parts,
                  ops::CrossEntropyFromPartsArgs{max.in(h), sums.in(h), target.in(h), losses.in(h)});
    this->b().run(ops::cross_entropy_partial_backward,
                  ops::CrossEntropyPartialBackwardArgs{logits.in(h), targets, max.in(h), sums.in(h),
                                                       dlogits.in(h), offset, valid, 0.5});
  }
  this->expect(losses, Rounding::once_from_double, "cross_entropy_from_parts");
  this->expect(dlogits, Rounding::once_from_double, "cross_entropy_partial_backward");
}

// 16-bit logits with f32 statistics (Megatron's fp32 loss, without an f32 copy of the logits): both runs
// round the same double once to f32, so the losses, row maxima, sums and target logits are the f32 kernel's
// bits; the gradients are 16-bit, rounded once as above.
TYPED_TEST(CpuHalf, CrossEntropyWithF32Statistics) {
  const std::int64_t n = 13, v = 57, valid = 50;
  const Twin logits = this->random({n, v}, 92, -5.0, 5.0), dlogits = this->empty({n, v});
  const Tensor targets = this->tokens({n}, valid, 93);
  const auto f32 = [&](Shape shape) { return this->b().empty(std::move(shape), DType::f32); };
  const auto expect_same_bits = [&](const Tensor& got, const Tensor& want, const char* what) {
    EXPECT_EQ(to_host<float>(this->b(), got), to_host<float>(this->b(), want))
        << dtype_name(TestFixture::kDType) << " logits: " << what;
  };
  const Tensor losses_half = f32({n}), losses_wide = f32({n});
  this->b().run(ops::cross_entropy, ops::CrossEntropyArgs{logits.half, targets, losses_half, valid});
  this->b().run(ops::cross_entropy, ops::CrossEntropyArgs{logits.wide, targets, losses_wide, valid});
  expect_same_bits(losses_half, losses_wide, "cross_entropy");
  for (bool h : {true, false})
    this->b().run(ops::cross_entropy_backward,
                  ops::CrossEntropyBackwardArgs{logits.in(h), targets, dlogits.in(h), valid, 0.25});
  this->expect(dlogits, Rounding::once_from_double, "cross_entropy_backward");

  // The vocabulary-parallel pieces on a slice: columns [20, 77) of the full logits, 30 of them vocabulary.
  const std::int64_t offset = 20, valid_slice = 30;
  const Tensor slice_targets = this->tokens({n}, 70, 94);
  const Tensor max_half = f32({n}), max_wide = f32({n});
  this->b().run(ops::row_max, ops::RowMaxArgs{logits.half, max_half, valid_slice});
  this->b().run(ops::row_max, ops::RowMaxArgs{logits.wide, max_wide, valid_slice});
  expect_same_bits(max_half, max_wide, "row_max");
  const Tensor sum_half = f32({n}), sum_wide = f32({n}), target_half = f32({n}), target_wide = f32({n});
  this->b().run(ops::cross_entropy_partial,
                ops::CrossEntropyPartialArgs{logits.half, slice_targets, max_wide, sum_half, target_half,
                                             offset, valid_slice});
  this->b().run(ops::cross_entropy_partial,
                ops::CrossEntropyPartialArgs{logits.wide, slice_targets, max_wide, sum_wide, target_wide,
                                             offset, valid_slice});
  expect_same_bits(sum_half, sum_wide, "cross_entropy_partial sum_exp");
  expect_same_bits(target_half, target_wide, "cross_entropy_partial target_logit");
  const Twin dslice = this->empty({n, v});
  for (bool h : {true, false})
    this->b().run(ops::cross_entropy_partial_backward,
                  ops::CrossEntropyPartialBackwardArgs{logits.in(h), slice_targets, max_wide, sum_wide,
                                                       dslice.in(h), offset, valid_slice, 0.5});
  this->expect(dslice, Rounding::once_from_double, "cross_entropy_partial_backward");
}

TYPED_TEST(CpuHalf, Dropout) {
  const Twin x = this->random({4, 33}, 110), out = this->empty({4, 33}), dy = this->random({4, 33}, 111);
  for (bool h : {true, false}) {
    ops::DropoutArgs args{x.in(h), out.in(h), 0.3, {7, 9}, 5, 100};
    this->b().run(ops::dropout, args);
    args.x = args.out = dy.in(h);  // in place
    this->b().run(ops::dropout_backward, args);
  }
  this->expect(out, Rounding::once_from_double, "dropout");
  this->expect(dy, Rounding::once_from_double, "dropout_backward");
}

// ---- cast ----------------------------------------------------------------------------------------------

// Every 16-bit value through f32 and f64 and back is itself (a NaN stays a NaN), and f32 → 16 bits rounds as
// the conversion does.
TYPED_TEST(CpuHalf, CastRoundTrips) {
  using H = TypeParam;
  std::vector<H> every(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) every[i].bits = static_cast<std::uint16_t>(i);
  const Tensor half = to_device(this->b(), {65536}, every);
  for (DType wide_dtype : {DType::f32, DType::f64}) {
    Tensor wide = this->b().empty({65536}, wide_dtype), back = this->b().empty({65536}, this->kDType);
    this->b().run(ops::cast, ops::CastArgs{half, wide});
    this->b().run(ops::cast, ops::CastArgs{wide, back});
    const auto got = to_host<H>(this->b(), back);
    for (std::uint32_t i = 0; i < 65536; ++i) {
      if (std::isnan(to_float(every[i])))
        EXPECT_TRUE(std::isnan(to_float(got[i]))) << std::hex << i;
      else
        ASSERT_EQ(got[i].bits, static_cast<std::uint16_t>(i))
            << dtype_name(wide_dtype) << " 0x" << std::hex << i;
    }
  }

  auto values = random_values<float>(1000, 120, -70000.0, 70000.0);
  for (float x : {0.0f, -0.0f, 1e-30f, -3e-8f, 65504.0f, 65520.0f, 3.4e38f,
                  std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()})
    values.push_back(x);
  const auto n = static_cast<std::int64_t>(values.size());
  Tensor rounded = this->b().empty({n}, this->kDType);
  this->b().run(ops::cast, ops::CastArgs{to_device(this->b(), {n}, values), rounded});
  expect_rounded(to_host<H>(this->b(), rounded), values, Rounding::exact, "cast f32 → 16 bits");
}

// f64 → 16 bits rounds once: a value just above a tie goes up, where rounding through f32 would go to even.
TYPED_TEST(CpuHalf, CastFromF64RoundsOnce) {
  using H = TypeParam;
  std::vector<double> values = random_values<double>(1000, 130, -1000.0, 1000.0);
  values.push_back(std::is_same_v<H, bf16> ? 1.0 + 0x1p-8 + 0x1p-40 : 1.0 + 0x1p-11 + 0x1p-40);
  const auto n = static_cast<std::int64_t>(values.size());
  Tensor rounded = this->b().empty({n}, this->kDType);
  this->b().run(ops::cast, ops::CastArgs{to_device(this->b(), {n}, values), rounded});
  const auto got = to_host<H>(this->b(), rounded);
  for (std::size_t i = 0; i < values.size(); ++i)
    ASSERT_EQ(got[i].bits, round_to<H>(values[i]).bits) << std::hexfloat << values[i];
  const std::uint16_t up = std::is_same_v<H, bf16> ? 0x3f81 : 0x3c01;
  EXPECT_EQ(got.back().bits, up);
}

// bf16 ↔ f16: the exact value of one rounded to the other (f16 overflows beyond 65504, bf16 loses bits).
TYPED_TEST(CpuHalf, CastBetweenSixteenBitTypes) {
  using H = TypeParam;
  using Other = std::conditional_t<std::is_same_v<H, bf16>, f16, bf16>;
  const Twin x = this->random({500}, 140, -70000.0, 70000.0);
  Tensor other = this->b().empty({500}, dtype_of<Other>());
  this->b().run(ops::cast, ops::CastArgs{x.half, other});
  const auto src = to_host<H>(this->b(), x.half);
  const auto got = to_host<Other>(this->b(), other);
  for (std::size_t i = 0; i < src.size(); ++i)
    ASSERT_EQ(got[i].bits, round_to<Other>(to_float(src[i])).bits) << to_float(src[i]);
}

TEST(CpuCast, F32AndF64) {
  auto backend = make_backend();
  const auto doubles = random_values<double>(300, 150, -1e3, 1e3);
  Tensor f = backend->empty({300}, DType::f32), d = backend->empty({300}, DType::f64);
  backend->run(ops::cast, ops::CastArgs{to_device(*backend, {300}, doubles), f});
  backend->run(ops::cast, ops::CastArgs{f, d});
  const auto floats = to_host<float>(*backend, f);
  const auto back = to_host<double>(*backend, d);
  for (std::size_t i = 0; i < doubles.size(); ++i) {
    ASSERT_EQ(floats[i], static_cast<float>(doubles[i]));
    ASSERT_EQ(back[i], static_cast<double>(floats[i]));
  }
}

// ---- determinism ---------------------------------------------------------------------------------------

// The 16-bit kernels keep the f32 kernels' fixed partitions: the same bits for 1 and 3 threads. (Not gemm:
// OpenBLAS repeats its results only for a fixed thread count, in f32 too.)
TEST(CpuHalfDeterminism, SameBitsForAnyThreadCount) {
  const auto run = [](std::int64_t threads) {
    auto backend = make_backend(threads);
    Backend& b = *backend;
    std::vector<bf16> xv(1031 * 129);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> dist(-2.0, 2.0);
    for (bf16& v : xv) v = to_bf16(dist(rng));
    const Tensor x = to_device(b, {1031, 129}, xv);
    Tensor colsum = b.empty({129}, DType::bf16), norm = b.empty({1}, DType::bf16),
           dx = b.empty({1031, 129}, DType::bf16);
    b.run(ops::fill, ops::FillArgs{colsum, 0.5});
    b.run(ops::column_sum, ops::ColumnSumArgs{x, colsum, 1.0});
    b.run(ops::squared_norm, ops::SquaredNormArgs{x, norm});
    b.run(ops::gelu_backward, ops::GeluBackwardArgs{x, x, dx});
    std::vector<std::vector<bf16>> out;
    for (const Tensor& t : {colsum, norm, dx}) out.push_back(to_host<bf16>(b, t));
    return out;
  };
  const auto one = run(1), three = run(3);
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(bitwise_equal(one[i], three[i])) << "result " << i;
}

}  // namespace
}  // namespace mtnlg::cpu::test
