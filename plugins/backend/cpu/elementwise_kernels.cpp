// Elementwise kernels: each output element depends only on the inputs at the same index, so any partition
// gives the same bits; the thread pool splits them into kElementwiseGrain chunks. Aliasing an input with the
// output (where ops.hpp allows it) is safe because every element is read before it is written, at the same
// index. bf16 and f16 are computed in float (compute_t) and rounded once when stored.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

// Runs f(i) for every i in [0, n) over the pool.
template <class F>
void for_each_index(ThreadPool& pool, std::int64_t n, F&& f) {
  pool.parallel_for(n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) f(i);
  });
}

void fill_kernel(const ops::FillArgs& args, ExecContext& ctx) {
  visit_stored("fill", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = args.out.data_as<T>();
    T v{};
    if constexpr (std::is_integral_v<T>)
      v = static_cast<T>(args.value);  // exact: op_checks refuses a value the integer type cannot hold
    else
      v = store<T>(args.value);
    pool_of(ctx).parallel_for(args.out.numel(), kElementwiseGrain,
                              [&](std::int64_t b, std::int64_t e) { std::fill(out + b, out + e, v); });
  });
}

// dst = src for any strides: walk the linear (row-major) index space of the shape in chunks; each chunk turns
// its first index into coordinates once, then steps along the last dimension and carries into the others.
template <class T>
void copy_strided(const ops::CopyArgs& args, ThreadPool& pool) {
  const Shape& shape = args.dst.shape();
  const Shape& ss = args.src.strides();
  const Shape& ds = args.dst.strides();
  const T* src = args.src.data_as<T>();
  T* dst = args.dst.data_as<T>();
  const int nd = args.dst.ndim();
  pool.parallel_for(args.dst.numel(), kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(nd));
    std::int64_t so = 0, dof = 0, rest = begin;
    for (int d = nd - 1; d >= 0; --d) {
      idx[d] = rest % shape[d];
      rest /= shape[d];
      so += idx[d] * ss[d];
      dof += idx[d] * ds[d];
    }
    const std::int64_t inner = shape[nd - 1], s_in = ss[nd - 1], d_in = ds[nd - 1];
    for (std::int64_t i = begin; i < end;) {
      const std::int64_t run = std::min(inner - idx[nd - 1], end - i);
      for (std::int64_t j = 0; j < run; ++j) dst[dof + j * d_in] = src[so + j * s_in];
      i += run;
      idx[nd - 1] += run;
      so += run * s_in;
      dof += run * d_in;
      for (int d = nd - 1; d > 0 && idx[d] == shape[d]; --d) {
        so += ss[d - 1] - idx[d] * ss[d];
        dof += ds[d - 1] - idx[d] * ds[d];
        idx[d] = 0;
        ++idx[d - 1];
      }
    }
  });
}

void copy_kernel(const ops::CopyArgs& args, ExecContext& ctx) {
  if (args.dst.numel() == 0) return;
  visit_stored("copy", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (args.src.is_contiguous() && args.dst.is_contiguous()) {
      const T* src = args.src.data_as<T>();
      T* dst = args.dst.data_as<T>();
      pool_of(ctx).parallel_for(args.dst.numel(), kElementwiseGrain, [&](std::int64_t b, std::int64_t e) {
        std::memmove(dst + b, src + b, static_cast<std::size_t>(e - b) * sizeof(T));
      });
    } else {  // ndim >= 1 here: a 0-d tensor is always contiguous
      copy_strided<T>(args, pool_of(ctx));
    }
  });
}

void axpy_kernel(const ops::AxpyArgs& args, ExecContext& ctx) {
  visit_floating("axpy", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = args.x.data_as<T>();
    T* y = args.y.data_as<T>();
    const auto alpha = static_cast<compute_t<T>>(args.alpha);
    for_each_index(pool_of(ctx), args.y.numel(),
                   [=](std::int64_t i) { y[i] = store<T>(load(y[i]) + alpha * load(x[i])); });
  });
}

void scale_kernel(const ops::ScaleArgs& args, ExecContext& ctx) {
  visit_floating("scale", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* x = args.x.data_as<T>();
    const auto alpha = static_cast<compute_t<T>>(args.alpha);
    for_each_index(pool_of(ctx), args.x.numel(),
                   [=](std::int64_t i) { x[i] = store<T>(load(x[i]) * alpha); });
  });
}

template <class Op>
void binary(const char* name, const ops::BinaryArgs& args, ExecContext& ctx, Op op) {
  visit_floating(name, args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* a = args.a.data_as<T>();
    const T* b = args.b.data_as<T>();
    T* out = args.out.data_as<T>();
    for_each_index(pool_of(ctx), args.out.numel(),
                   [=](std::int64_t i) { out[i] = store<T>(op(load(a[i]), load(b[i]))); });
  });
}

void add_kernel(const ops::BinaryArgs& args, ExecContext& ctx) {
  binary("add", args, ctx, [](auto a, auto b) { return a + b; });
}

void mul_kernel(const ops::BinaryArgs& args, ExecContext& ctx) {
  binary("mul", args, ctx, [](auto a, auto b) { return a * b; });
}

void bias_add_kernel(const ops::BiasAddArgs& args, ExecContext& ctx) {
  const std::int64_t n = args.x.dim(-1);
  if (n == 0) return;
  visit_floating("bias_add", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = args.x.data_as<T>();        // (R, N)
    const T* bias = args.bias.data_as<T>();  // (N)
    T* out = args.out.data_as<T>();          // (R, N)
    const std::int64_t rows = args.x.numel() / n;
    pool_of(ctx).parallel_for(rows, row_grain(n), [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t j = 0; j < n; ++j) out[r * n + j] = store<T>(load(x[r * n + j]) + load(bias[j]));
    });
  });
}

// GPT-2's tanh GeLU. 0.5·(1 + tanh(u)) = σ(2u) = 1 / (1 + e^(-2u)): the same function without the
// cancellation 1 + tanh(u) suffers for negative x, so f32 stays accurate in the left tail.
template <class T>
struct Gelu {
  static constexpr T kSqrt2OverPi = T(0.7978845608028654);
  static constexpr T kCubic = T(0.044715);
  static T sigmoid2u(T x) {
    const T u = kSqrt2OverPi * (x + kCubic * x * x * x);
    return T(1) / (T(1) + std::exp(T(-2) * u));
  }
  static T forward(T x) { return x * sigmoid2u(x); }
  // d/dx [x·s(x)] with s = σ(2u): s + x·2s(1 − s)·u'(x), u'(x) = √(2/π)·(1 + 3·0.044715·x²).
  static T derivative(T x) {
    const T s = sigmoid2u(x);
    const T tail = s * (T(1) - s);
    if (tail == T(0)) return s;  // |x| so large that x² may overflow: the second term's limit is 0
    const T du = kSqrt2OverPi * (T(1) + T(3) * kCubic * x * x);
    return s + x * T(2) * tail * du;
  }
};

void gelu_kernel(const ops::GeluArgs& args, ExecContext& ctx) {
  visit_floating("gelu", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = args.x.data_as<T>();
    T* out = args.out.data_as<T>();
    for_each_index(pool_of(ctx), args.out.numel(),
                   [=](std::int64_t i) { out[i] = store<T>(Gelu<compute_t<T>>::forward(load(x[i]))); });
  });
}

void gelu_backward_kernel(const ops::GeluBackwardArgs& args, ExecContext& ctx) {
  visit_floating("gelu_backward", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = args.x.data_as<T>();
    const T* dy = args.dy.data_as<T>();
    T* dx = args.dx.data_as<T>();
    for_each_index(pool_of(ctx), args.dx.numel(), [=](std::int64_t i) {
      dx[i] = store<T>(load(dy[i]) * Gelu<compute_t<T>>::derivative(load(x[i])));
    });
  });
}

// dst = src in dst's dtype. load is exact and store rounds a float or double once, so every pair of dtypes
// rounds to nearest, ties to even, from the exact value (f64 → bf16 directly, never through f32).
void cast_kernel(const ops::CastArgs& args, ExecContext& ctx) {
  visit_floating("cast", args.src.dtype(), [&](auto src_tag) {
    using S = decltype(src_tag);
    visit_floating("cast", args.dst.dtype(), [&](auto dst_tag) {
      using D = decltype(dst_tag);
      const S* src = args.src.data_as<S>();
      D* dst = args.dst.data_as<D>();
      for_each_index(pool_of(ctx), args.dst.numel(),
                     [=](std::int64_t i) { dst[i] = store<D>(load(src[i])); });
    });
  });
}

}  // namespace

void register_elementwise_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  const auto stored = {DType::f32, DType::f64, DType::bf16, DType::f16, DType::i32, DType::i64, DType::u16};
  register_op<ops::fill, &fill_kernel>(table, stored);
  register_op<ops::copy, &copy_kernel>(table, stored);
  register_op<ops::axpy, &axpy_kernel>(table, floating);
  register_op<ops::scale, &scale_kernel>(table, floating);
  register_op<ops::add, &add_kernel>(table, floating);
  register_op<ops::mul, &mul_kernel>(table, floating);
  register_op<ops::bias_add, &bias_add_kernel>(table, floating);
  register_op<ops::gelu, &gelu_kernel>(table, floating);
  register_op<ops::gelu_backward, &gelu_backward_kernel>(table, floating);
  register_op<ops::cast, &cast_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
