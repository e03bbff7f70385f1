#pragma once
// The standard ops every compute backend provides (the CPU backend is the reference; `mtnlg plugins
// --describe cpu` lists what a backend supports). Shapes are row-major; "contiguous" means the tensor's
// elements are dense in row-major order. Each Args struct is copied into deferred work, so it holds Tensors
// (views, cheap to copy) and scalars only.
#include "mtnlg/backend.hpp"
#include "mtnlg/op_checks.hpp"  // the contract of each op below, checked by Backend::run

namespace mtnlg::ops {

// c = alpha · op(a) · op(b) + beta · c, for 2-D operands or a batch of them (3-D, same batch size).
// op(x) = xᵀ when trans_x. a: (M, K) or (K, M) if trans_a; b: (K, N) or (N, K) if trans_b; c: (M, N).
// The last dimension of each operand must have stride 1; leading strides may be anything (views).
struct GemmArgs {
  Tensor a, b, c;
  bool trans_a = false, trans_b = false;
  double alpha = 1.0, beta = 0.0;
  DType dtype() const { return c.dtype(); }
};
inline constexpr OpKey<GemmArgs> gemm{"gemm"};

// out[i] = value. out contiguous.
struct FillArgs {
  Tensor out;
  double value = 0.0;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<FillArgs> fill{"fill"};

// dst = src, any strides, same shape and dtype.
struct CopyArgs {
  Tensor src, dst;
  DType dtype() const { return dst.dtype(); }
};
inline constexpr OpKey<CopyArgs> copy{"copy"};

// y += alpha · x. Both contiguous, same number of elements.
struct AxpyArgs {
  Tensor x, y;
  double alpha = 1.0;
  DType dtype() const { return y.dtype(); }
};
inline constexpr OpKey<AxpyArgs> axpy{"axpy"};

// x *= alpha, in place. x contiguous.
struct ScaleArgs {
  Tensor x;
  double alpha = 1.0;
  DType dtype() const { return x.dtype(); }
};
inline constexpr OpKey<ScaleArgs> scale{"scale"};

// out = a + b and out = a ⊙ b, elementwise. All contiguous, same number of elements; out may alias a or b.
struct BinaryArgs {
  Tensor a, b, out;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<BinaryArgs> add{"add"};
inline constexpr OpKey<BinaryArgs> mul{"mul"};

// out = x + bias over the last dimension. x, out: (..., N) contiguous; bias: (N). out may alias x.
struct BiasAddArgs {
  Tensor x, bias, out;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<BiasAddArgs> bias_add{"bias_add"};

// out[j] = beta · out[j] + Σ_i x[i, j]: the bias gradient. x: (..., N) contiguous, out: (N).
struct ColumnSumArgs {
  Tensor x, out;
  double beta = 0.0;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<ColumnSumArgs> column_sum{"column_sum"};

// out[0] = Σ x², summed in a fixed order (deterministic). x contiguous; out: (1), same dtype.
struct SquaredNormArgs {
  Tensor x, out;
  DType dtype() const { return x.dtype(); }
};
inline constexpr OpKey<SquaredNormArgs> squared_norm{"squared_norm"};

// GPT-2's tanh GeLU: out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Contiguous, same shape.
struct GeluArgs {
  Tensor x, out;
  DType dtype() const { return out.dtype(); }
};
inline constexpr OpKey<GeluArgs> gelu{"gelu"};

// dx = dy · gelu'(x). Contiguous, same shape; dx may alias dy.
struct GeluBackwardArgs {
  Tensor x, dy, dx;
  DType dtype() const { return dx.dtype(); }
};
inline constexpr OpKey<GeluBackwardArgs> gelu_backward{"gelu_backward"};

}  // namespace mtnlg::ops
