// flash_attention and flash_attention_backward against a naive f64 reference (scores q·kᵀ, causal softmax,
// P·v and their gradients, with the (T, T) matrices materialised) on odd sizes, the backward against finite
// differences of the forward, bitwise reproducibility over thread counts, and the argument contract.
#include <limits>

#include "backend_fixture.hpp"
#include "gradient_check.hpp"

namespace mtnlg::cpu::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// One (bh, T, d) problem in f64 and everything the reference derives from it.
struct Problem {
  std::int64_t bh, t, d;
  double scale;
  std::vector<double> q, k, v;  // (BH, T, d)

  std::int64_t row(std::int64_t h, std::int64_t i) const { return h * t + i; }
  const double* at(const std::vector<double>& x, std::int64_t h, std::int64_t i) const {
    return x.data() + row(h, i) * d;
  }
};

double dot(const double* a, const double* b, std::int64_t d) {
  double s = 0;
  for (std::int64_t c = 0; c < d; ++c) s += a[c] * b[c];
  return s;
}
double abs_dot(const double* a, const double* b, std::int64_t d) {
  double s = 0;
  for (std::int64_t c = 0; c < d; ++c) s += std::abs(a[c] * b[c]);
  return s;
}

// The materialised probabilities P (BH, T, T), 0 above the diagonal, and the row log-sum-exps (BH, T).
struct Softmax {
  std::vector<double> p, lse;
};
Softmax softmax_ref(const Problem& pr) {
  Softmax sm{std::vector<double>(pr.bh * pr.t * pr.t, 0.0), std::vector<double>(pr.bh * pr.t)};
  for (std::int64_t h = 0; h < pr.bh; ++h)
    for (std::int64_t i = 0; i < pr.t; ++i) {
      double* p = sm.p.data() + pr.row(h, i) * pr.t;
      double max = -std::numeric_limits<double>::infinity(), sum = 0;
      for (std::int64_t j = 0; j <= i; ++j) {
        p[j] = pr.scale * dot(pr.at(pr.q, h, i), pr.at(pr.k, h, j), pr.d);
        max = std::max(max, p[j]);
      }
      for (std::int64_t j = 0; j <= i; ++j) sum += std::exp(p[j] - max);
      for (std::int64_t j = 0; j <= i; ++j) p[j] = std::exp(p[j] - max) / sum;
      sm.lse[pr.row(h, i)] = max + std::log(sum);
    }
  return sm;
}

// Reference results with, per element, the sum of the absolute values of the terms that make it up (the
// magnitude expect_close scales its bound by).
struct Reference {
  std::vector<double> value, magnitude;
};

// out = P·v; lse, whose rounding error scales with the largest score's terms.
std::pair<Reference, Reference> forward_ref(const Problem& pr, const Softmax& sm) {
  const std::int64_t n = pr.bh * pr.t;
  Reference out{std::vector<double>(n * pr.d, 0.0), std::vector<double>(n * pr.d, 0.0)};
  Reference lse{sm.lse, std::vector<double>(n)};
  for (std::int64_t h = 0; h < pr.bh; ++h)
    for (std::int64_t i = 0; i < pr.t; ++i) {
      const std::int64_t r = pr.row(h, i);
      double largest = 0;
      for (std::int64_t j = 0; j <= i; ++j) {
        const double p = sm.p[r * pr.t + j];
        largest = std::max(largest, pr.scale * abs_dot(pr.at(pr.q, h, i), pr.at(pr.k, h, j), pr.d));
        for (std::int64_t c = 0; c < pr.d; ++c) {
          out.value[r * pr.d + c] += p * pr.at(pr.v, h, j)[c];
          out.magnitude[r * pr.d + c] += p * std::abs(pr.at(pr.v, h, j)[c]);
        }
      }
      lse.magnitude[r] = std::abs(sm.lse[r]) + largest + 1.0;
    }
  return {out, lse};
}

// dq, dk, dv through the materialised matrices: dP = dout·vᵀ, dS = P ⊙ (dP − D), D_i = Σ_j P_ij·dP_ij.
struct Gradients {
  Reference dq, dk, dv;
};
Gradients backward_ref(const Problem& pr, const Softmax& sm, const std::vector<double>& dout) {
  const std::int64_t n = pr.bh * pr.t * pr.d, d = pr.d;
  const auto zeros = [&] { return Reference{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)}; };
  Gradients g{zeros(), zeros(), zeros()};
  for (std::int64_t h = 0; h < pr.bh; ++h)
    for (std::int64_t i = 0; i < pr.t; ++i) {
      const std::int64_t r = pr.row(h, i);
      const double* p = sm.p.data() + r * pr.t;
      const double* douti = pr.at(dout, h, i);
      double delta = 0, delta_mag = 0;
      for (std::int64_t j = 0; j <= i; ++j) {
        delta += p[j] * dot(douti, pr.at(pr.v, h, j), d);
        delta_mag += p[j] * abs_dot(douti, pr.at(pr.v, h, j), d);
      }
      for (std::int64_t j = 0; j <= i; ++j) {
        const double ds = p[j] * (dot(douti, pr.at(pr.v, h, j), d) - delta);
        const double ds_mag = p[j] * (abs_dot(douti, pr.at(pr.v, h, j), d) + delta_mag);
        const std::int64_t rj = pr.row(h, j);
        for (std::int64_t c = 0; c < d; ++c) {
          g.dv.value[rj * d + c] += p[j] * douti[c];
          g.dv.magnitude[rj * d + c] += p[j] * std::abs(douti[c]);
          g.dq.value[r * d + c] += pr.scale * ds * pr.at(pr.k, h, j)[c];
          g.dq.magnitude[r * d + c] += pr.scale * ds_mag * std::abs(pr.at(pr.k, h, j)[c]);
          g.dk.value[rj * d + c] += pr.scale * ds * pr.at(pr.q, h, i)[c];
          g.dk.magnitude[rj * d + c] += pr.scale * ds_mag * std::abs(pr.at(pr.q, h, i)[c]);
        }
      }
    }
  return g;
}

template <class T>
class CpuFlashAttention : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuFlashAttention, FloatTypes, DTypeNames);

// The sizes of the brief: T with remainders for any tile, head sizes below, between and at powers of two.
const std::int64_t kSeqLens[] = {1, 7, 65};
const std::int64_t kHeadDims[] = {8, 33, 64};

TYPED_TEST(CpuFlashAttention, ForwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  for (std::int64_t bh : {1, 3})
    for (std::int64_t t : kSeqLens)
      for (std::int64_t d : kHeadDims)
        // 1/√d as in GPT, and scores reaching several hundred, where exp() overflows even a double unless
        // the running maximum is subtracted first.
        for (double scale : {1.0 / std::sqrt(static_cast<double>(d)), 30.0}) {
          const std::int64_t n = bh * t * d;
          const auto q = random_values<T>(n, seed++), k = random_values<T>(n, seed++),
                     v = random_values<T>(n, seed++);
          Tensor out = b.empty({bh, t, d}, dtype_of<T>()), lse = b.empty({bh, t}, dtype_of<T>());
          b.run(ops::flash_attention,
                ops::FlashAttentionArgs{to_device(b, {bh, t, d}, q), to_device(b, {bh, t, d}, k),
                                        to_device(b, {bh, t, d}, v), out, lse, scale});
          const Problem pr{bh, t, d, scale, widen(q), widen(k), widen(v)};
          const auto [out_ref, lse_ref] = forward_ref(pr, softmax_ref(pr));
          const std::string what = str("BH=", bh, " T=", t, " d=", d, " scale=", scale);
          expect_close(to_host<T>(b, out), out_ref.value, out_ref.magnitude, "out " + what);
          expect_close(to_host<T>(b, lse), lse_ref.value, lse_ref.magnitude, "lse " + what);
        }
}

TYPED_TEST(CpuFlashAttention, BackwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 100;
  for (std::int64_t bh : {1, 3})
    for (std::int64_t t : kSeqLens)
      for (std::int64_t d : kHeadDims)
        // Moderate scores: P is recomputed from the stored lse, whose f32 rounding (relative to |lse|)
        // would otherwise dominate f32's bound.
        for (double scale : {1.0 / std::sqrt(static_cast<double>(d)), 3.0}) {
          const std::int64_t n = bh * t * d;
          const Shape shape{bh, t, d};
          const auto q = random_values<T>(n, seed++), k = random_values<T>(n, seed++),
                     v = random_values<T>(n, seed++), dout = random_values<T>(n, seed++);
          const Tensor tq = to_device(b, shape, q), tk = to_device(b, shape, k), tv = to_device(b, shape, v);
          Tensor out = b.empty(shape, dtype_of<T>()), lse = b.empty({bh, t}, dtype_of<T>());
          b.run(ops::flash_attention, ops::FlashAttentionArgs{tq, tk, tv, out, lse, scale});
          Tensor dq = b.empty(shape, dtype_of<T>()), dk = b.empty(shape, dtype_of<T>()),
                 dv = b.empty(shape, dtype_of<T>());
          b.run(ops::flash_attention_backward,
                ops::FlashAttentionBackwardArgs{tq, tk, tv, out, lse, to_device(b, shape, dout), dq, dk, dv,
                                                scale});
          const Problem pr{bh, t, d, scale, widen(q), widen(k), widen(v)};
          const Gradients g = backward_ref(pr, softmax_ref(pr), widen(dout));
          const std::string what = str("BH=", bh, " T=", t, " d=", d, " scale=", scale);
          expect_close(to_host<T>(b, dq), g.dq.value, g.dq.magnitude, "dq " + what);
          expect_close(to_host<T>(b, dk), g.dk.value, g.dk.magnitude, "dk " + what);
          expect_close(to_host<T>(b, dv), g.dv.value, g.dv.magnitude, "dv " + what);
        }
}

// L = Σ w·out(q, k, v): flash_attention_backward with dout = w gives its gradient.
TEST(CpuFlashAttentionGradient, BackwardIsTheGradientOfForward) {
  auto backend = make_backend();
  Backend& b = *backend;
  const std::int64_t bh = 2, t = 5, d = 3;
  const Shape shape{bh, t, d};
  const double scale = 0.7;
  const std::size_t n = bh * t * d;
  const auto q = random_values<double>(n, 1, -2.0, 2.0), k = random_values<double>(n, 2, -2.0, 2.0),
             v = random_values<double>(n, 3), w = random_values<double>(n, 4);
  auto forward = [&](const std::vector<double>& qv, const std::vector<double>& kv,
                     const std::vector<double>& vv, Tensor& out, Tensor& lse) {
    out = b.empty(shape, DType::f64);
    lse = b.empty({bh, t}, DType::f64);
    b.run(ops::flash_attention, ops::FlashAttentionArgs{to_device(b, shape, qv), to_device(b, shape, kv),
                                                        to_device(b, shape, vv), out, lse, scale});
  };
  auto loss = [&](const std::vector<double>& qv, const std::vector<double>& kv,
                  const std::vector<double>& vv) {
    Tensor out, lse;
    forward(qv, kv, vv, out, lse);
    return weighted_sum(w, to_host<double>(b, out));
  };
  Tensor out, lse;
  forward(q, k, v, out, lse);
  Tensor dq = b.empty(shape, DType::f64), dk = b.empty(shape, DType::f64), dv = b.empty(shape, DType::f64);
  b.run(
      ops::flash_attention_backward,
      ops::FlashAttentionBackwardArgs{to_device(b, shape, q), to_device(b, shape, k), to_device(b, shape, v),
                                      out, lse, to_device(b, shape, w), dq, dk, dv, scale});
  expect_gradient_close(to_host<double>(b, dq),
                        numeric_gradient(q, [&](const std::vector<double>& x) { return loss(x, k, v); }),
                        "dq");
  expect_gradient_close(to_host<double>(b, dk),
                        numeric_gradient(k, [&](const std::vector<double>& x) { return loss(q, x, v); }),
                        "dk");
  expect_gradient_close(to_host<double>(b, dv),
                        numeric_gradient(v, [&](const std::vector<double>& x) { return loss(q, k, x); }),
                        "dv");
}

// out, lse, dq, dk, dv of one problem on `threads` threads.
std::vector<std::vector<float>> run_on_threads(std::int64_t threads) {
  auto backend = make_backend(threads);
  Backend& b = *backend;
  const std::int64_t bh = 3, t = 67, d = 24;
  const Shape shape{bh, t, d};
  const std::size_t n = bh * t * d;
  const Tensor q = to_device(b, shape, random_values<float>(n, 1)),
               k = to_device(b, shape, random_values<float>(n, 2)),
               v = to_device(b, shape, random_values<float>(n, 3)),
               dout = to_device(b, shape, random_values<float>(n, 4));
  Tensor out = b.empty(shape, DType::f32), lse = b.empty({bh, t}, DType::f32);
  Tensor dq = b.empty(shape, DType::f32), dk = b.empty(shape, DType::f32), dv = b.empty(shape, DType::f32);
  b.run(ops::flash_attention, ops::FlashAttentionArgs{q, k, v, out, lse, 0.2});
  b.run(ops::flash_attention_backward,
        ops::FlashAttentionBackwardArgs{q, k, v, out, lse, dout, dq, dk, dv, 0.2});
  return {to_host<float>(b, out), to_host<float>(b, lse), to_host<float>(b, dq), to_host<float>(b, dk),
          to_host<float>(b, dv)};
}

TEST(CpuFlashAttentionDeterminism, SameBitsOnAnyThreadCount) {
  const auto one = run_on_threads(1), two = run_on_threads(2), three = run_on_threads(3);
  const char* names[] = {"out", "lse", "dq", "dk", "dv"};
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(one[i], two[i])) << names[i] << ": 1 thread and 2 threads differ";
    EXPECT_TRUE(bitwise_equal(one[i], three[i])) << names[i] << ": 1 thread and 3 threads differ";
  }
}

class CpuFlashAttentionErrors : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
  Tensor f32(Shape shape) { return backend->empty(std::move(shape), DType::f32); }
  Tensor f64(Shape shape) { return backend->empty(std::move(shape), DType::f64); }
};

TEST_F(CpuFlashAttentionErrors, ShapesDtypesAndLayout) {
  Backend& b = *backend;
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention, ops::FlashAttentionArgs{f32({2, 5, 4}), f32({2, 5, 4}), f32({2, 6, 4}),
                                                            f32({2, 5, 4}), f32({2, 5}), 0.5});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("backend 'cpu': flash_attention: v is f32 (2, 6, 4)"),
                                 HasSubstr("must be (BH, T, d) = (2, 5, 4)"))));
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention, ops::FlashAttentionArgs{f64({2, 5, 4}), f64({2, 5, 4}), f64({2, 5, 4}),
                                                            f64({2, 5, 4}), f32({2, 5}), 0.5});
      },
      ThrowsMessage<Error>(
          AllOf(HasSubstr("flash_attention: lse is f32 (2, 5)"), HasSubstr("must be f64 for f64 operands"))));
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention, ops::FlashAttentionArgs{f32({10, 4}), f32({10, 4}), f32({10, 4}),
                                                            f32({10, 4}), f32({10}), 0.5});
      },
      ThrowsMessage<Error>(HasSubstr("it must be (BH, T, d)")));
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention, ops::FlashAttentionArgs{f32({2, 5, 4}), f32({2, 5, 4}), f32({2, 5, 4}),
                                                            f32({2, 5, 4}), f32({2, 4}), 0.5});
      },
      ThrowsMessage<Error>(HasSubstr("lse is f32 (2, 4) on cpu but must be (BH, T) = (2, 5)")));
  const Tensor wide = f32({2, 5, 8});
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention,
              ops::FlashAttentionArgs{wide.slice(2, 0, 4), f32({2, 5, 4}), f32({2, 5, 4}), f32({2, 5, 4}),
                                      f32({2, 5}), 0.5});
      },
      ThrowsMessage<Error>(
          HasSubstr("operand q (f32 (2, 5, 4) on cpu, strides (40, 8, 1)) is not contiguous")));
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention,
              ops::FlashAttentionArgs{f32({2, 5, 4}), f32({2, 5, 4}), f32({2, 5, 4}), f32({2, 5, 4}),
                                      f32({2, 5}), std::numeric_limits<double>::infinity()});
      },
      ThrowsMessage<Error>(HasSubstr("flash_attention: scale = inf must be finite")));
}

// Every backend takes the same head sizes, so a model's attention path never depends on where it runs.
TEST_F(CpuFlashAttentionErrors, HeadSizeBeyondTheSdkLimit) {
  const std::int64_t d = ops::kFlashAttentionMaxHeadDim + 1;
  EXPECT_THAT(
      [&] {
        backend->run(ops::flash_attention,
                     ops::FlashAttentionArgs{f32({2, 5, d}), f32({2, 5, d}), f32({2, 5, d}), f32({2, 5, d}),
                                             f32({2, 5}), 0.5});
      },
      ThrowsMessage<Error>(
          HasSubstr("flash_attention: q is f32 (2, 5, 129) on cpu; the head size d must be in "
                    "[1, 128] (larger heads take the unfused ops")));
}

TEST_F(CpuFlashAttentionErrors, OutputsMustNotOverlap) {
  Backend& b = *backend;
  const Tensor q = f32({2, 5, 4}), k = f32({2, 5, 4}), v = f32({2, 5, 4}), out = f32({2, 5, 4}),
               lse = f32({2, 5}), dout = f32({2, 5, 4});
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention, ops::FlashAttentionArgs{q, k, v, q, lse, 0.5});
      },
      ThrowsMessage<Error>(HasSubstr("flash_attention: output out (f32 (2, 5, 4) on cpu) overlaps input q")));
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention_backward,
              ops::FlashAttentionBackwardArgs{q, k, v, out, lse, dout, dout, f32({2, 5, 4}), f32({2, 5, 4}),
                                              0.5});
      },
      ThrowsMessage<Error>(
          HasSubstr("flash_attention_backward: output dq (f32 (2, 5, 4) on cpu) overlaps input dout")));
  const Tensor grads = f32({2, 5, 4});
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention_backward,
              ops::FlashAttentionBackwardArgs{q, k, v, out, lse, dout, grads, grads, f32({2, 5, 4}), 0.5});
      },
      ThrowsMessage<Error>(HasSubstr("flash_attention_backward: operands dq (f32 (2, 5, 4) on cpu) and dk")));
  EXPECT_THAT(
      [&] {
        b.run(ops::flash_attention_backward,
              ops::FlashAttentionBackwardArgs{q, k, v, out, lse, f32({2, 4, 4}), f32({2, 5, 4}),
                                              f32({2, 5, 4}), f32({2, 5, 4}), 0.5});
      },
      ThrowsMessage<Error>(
          HasSubstr("flash_attention_backward: dout is f32 (2, 4, 4) on cpu but must be (BH, T, d)")));
}

}  // namespace
}  // namespace mtnlg::cpu::test
