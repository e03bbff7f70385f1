#include "mtnlg/op_checks.hpp"

#include <cmath>
#include <string>

#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::ops {
namespace {

// Defined, on this backend's device, and of the op's dtype.
void require_operand(const char* op, const char* name, const Tensor& t, DType dtype, const char* dtype_from,
                     Device device) {
  MTNLG_CHECK(t.defined(),
              str(op, ": operand ", name, " is an undefined tensor; allocate it with backend.empty()"));
  MTNLG_CHECK(t.device() == device,
              str(op, ": operand ", name, " is ", t.describe(), " but this backend runs on ",
                  device_str(device), "; allocate it on this backend"));
  MTNLG_CHECK(t.dtype() == dtype,
              str(op, ": operand ", name, " is ", t.describe(), " but the op runs in ", dtype_name(dtype),
                  " (the dtype of ", dtype_from, "); all operands need the same dtype"));
}

void require_contiguous(const char* op, const char* name, const Tensor& t) {
  MTNLG_CHECK(t.is_contiguous(),
              str(op, ": operand ", name, " (", t.describe(), ", strides ", shape_str(t.strides()),
                  ") is not contiguous; copy it into a contiguous tensor first"));
}

void require_same_numel(const char* op, const char* n1, const Tensor& t1, const char* n2, const Tensor& t2) {
  MTNLG_CHECK(t1.numel() == t2.numel(),
              str(op, ": ", n1, " is ", t1.describe(), " (", t1.numel(), " elements) but ", n2, " is ",
                  t2.describe(), " (", t2.numel(), " elements); they need the same number of elements"));
}

void require_same_shape(const char* op, const char* n1, const Tensor& t1, const char* n2, const Tensor& t2) {
  MTNLG_CHECK(t1.shape() == t2.shape(), str(op, ": ", n1, " is ", t1.describe(), " but ", n2, " is ",
                                            t2.describe(), "; they need the same shape"));
}

// A gemm operand's stored matrix (rows, cols) = its last two dims. BLAS needs unit stride along a row and
// rows that do not overlap; the stride between rows (the leading dimension) and between batches may be
// anything.
void require_gemm_layout(const char* name, const Tensor& t) {
  const std::int64_t rows = t.dim(-2), cols = t.dim(-1);
  const std::int64_t row_stride = t.strides()[t.ndim() - 2], col_stride = t.strides()[t.ndim() - 1];
  MTNLG_CHECK(cols <= 1 || col_stride == 1,
              str("gemm: operand ", name, " (", t.describe(), ", strides ", shape_str(t.strides()),
                  ") has a last-dimension stride of ", col_stride,
                  "; BLAS needs stride 1 there: pass the untransposed tensor with trans_", name,
                  " set, or copy it into a contiguous tensor"));
  MTNLG_CHECK(rows <= 1 || row_stride >= cols,
              str("gemm: operand ", name, " (", t.describe(), ", strides ", shape_str(t.strides()),
                  ") has rows that overlap (row stride ", row_stride, " < row length ", cols,
                  "); copy it into a contiguous tensor first"));
}

// Whether two views of one storage share elements, judged by their element spans [first, last] (conservative
// for interleaved views, which no caller needs). Writing an output that overlaps an input gives wrong results
// silently on every backend, so it is an error.
bool overlaps(const Tensor& t1, const Tensor& t2) {
  if (t1.storage() != t2.storage() || t1.numel() == 0 || t2.numel() == 0) return false;
  auto last = [](const Tensor& t) {
    std::int64_t end = t.offset();
    for (int d = 0; d < t.ndim(); ++d) end += (t.shape()[d] - 1) * t.strides()[d];
    return end;
  };
  return t1.offset() <= last(t2) && t2.offset() <= last(t1);
}

void require_disjoint(const char* op, const char* out_name, const Tensor& out, const char* in_name,
                      const Tensor& in, const char* why) {
  MTNLG_CHECK(!overlaps(out, in), str(op, ": output ", out_name, " (", out.describe(), ") overlaps input ",
                                      in_name, " (", in.describe(), ") in the same buffer; ", why));
}

std::string gemm_operands(const GemmArgs& args) {
  return str(" [a: ", args.a.describe(), ", b: ", args.b.describe(), ", c: ", args.c.describe(),
             ", trans_a=", args.trans_a ? "true" : "false", ", trans_b=", args.trans_b ? "true" : "false",
             "]");
}

}  // namespace

void check_args(const char*, const GemmArgs& args, Device device) {
  const DType dt = args.dtype();
  require_operand("gemm", "c", args.c, dt, "c", device);
  require_operand("gemm", "a", args.a, dt, "c", device);
  require_operand("gemm", "b", args.b, dt, "c", device);
  const int nd = args.c.ndim();
  MTNLG_CHECK(
      (nd == 2 || nd == 3) && args.a.ndim() == nd && args.b.ndim() == nd,
      str("gemm: operands must all be 2-D, or all 3-D with the same batch size", gemm_operands(args)));
  const GemmDims d = gemm_dims(args);
  if (nd == 3) {
    MTNLG_CHECK(args.a.dim(0) == d.batch && args.b.dim(0) == d.batch,
                str("gemm: batch sizes differ (a: ", args.a.dim(0), ", b: ", args.b.dim(0), ", c: ", d.batch,
                    ")", gemm_operands(args)));
  }
  const std::int64_t kb = args.trans_b ? args.b.dim(-1) : args.b.dim(-2);
  MTNLG_CHECK(d.k == kb, str("gemm: inner dimensions differ: op(a) is (M, K) = ", shape_str({d.m, d.k}),
                             " but op(b) is (K, N) = ", shape_str({kb, d.n}), gemm_operands(args),
                             "; check the shapes and the trans flags"));
  MTNLG_CHECK(args.c.dim(-2) == d.m && args.c.dim(-1) == d.n,
              str("gemm: c must be (M, N) = ", shape_str({d.m, d.n}), " for op(a) (M, K) = ",
                  shape_str({d.m, d.k}), " and op(b) (K, N) = ", shape_str({kb, d.n}), gemm_operands(args)));
  require_gemm_layout("a", args.a);
  require_gemm_layout("b", args.b);
  require_gemm_layout("c", args.c);
  require_disjoint("gemm", "c", args.c, "a", args.a, "write the product into a separate tensor");
  require_disjoint("gemm", "c", args.c, "b", args.b, "write the product into a separate tensor");
}

GemmDims gemm_dims(const GemmArgs& args) {
  // op(a): (M, K), op(b): (K, N), c: (M, N).
  GemmDims d;
  d.batch = args.c.ndim() == 3 ? args.c.dim(0) : 1;
  d.m = args.trans_a ? args.a.dim(-1) : args.a.dim(-2);
  d.k = args.trans_a ? args.a.dim(-2) : args.a.dim(-1);
  d.n = args.trans_b ? args.b.dim(-2) : args.b.dim(-1);
  return d;
}

void check_args(const char*, const FillArgs& args, Device device) {
  require_operand("fill", "out", args.out, args.dtype(), "out", device);
  require_contiguous("fill", "out", args.out);
  // An integer fill must be exact: 0.5 or 70000 into u16 is a bug in the caller, not something to round.
  double lo = 0, hi = 0;
  switch (args.dtype()) {
    case DType::i32:
      lo = -2147483648.0, hi = 2147483647.0;
      break;
    case DType::i64:
      lo = -9223372036854775808.0, hi = 9223372036854774784.0;
      break;
    case DType::u16:
      lo = 0.0, hi = 65535.0;
      break;
    default:
      return;
  }
  MTNLG_CHECK(std::nearbyint(args.value) == args.value && args.value >= lo && args.value <= hi,
              str("fill: value ", args.value, " is not representable in ", dtype_name(args.dtype()), " (out ",
                  args.out.describe(), "); use an integer in [", lo, ", ", hi, "]"));
}

void check_args(const char*, const CopyArgs& args, Device device) {
  require_operand("copy", "dst", args.dst, args.dtype(), "dst", device);
  require_operand("copy", "src", args.src, args.dtype(), "dst", device);
  require_same_shape("copy", "src", args.src, "dst", args.dst);
  // Copying a view onto itself is a no-op; a partial overlap would read elements already overwritten.
  const bool same_view = args.src.storage() == args.dst.storage() && args.src.offset() == args.dst.offset() &&
                         args.src.strides() == args.dst.strides();
  if (!same_view)
    require_disjoint("copy", "dst", args.dst, "src", args.src, "copy through a temporary tensor");
}

void check_args(const char*, const AxpyArgs& args, Device device) {
  require_operand("axpy", "y", args.y, args.dtype(), "y", device);
  require_operand("axpy", "x", args.x, args.dtype(), "y", device);
  require_contiguous("axpy", "x", args.x);
  require_contiguous("axpy", "y", args.y);
  require_same_numel("axpy", "x", args.x, "y", args.y);
}

void check_args(const char*, const ScaleArgs& args, Device device) {
  require_operand("scale", "x", args.x, args.dtype(), "x", device);
  require_contiguous("scale", "x", args.x);
}

void check_args(const char* op, const BinaryArgs& args, Device device) {
  require_operand(op, "out", args.out, args.dtype(), "out", device);
  require_operand(op, "a", args.a, args.dtype(), "out", device);
  require_operand(op, "b", args.b, args.dtype(), "out", device);
  require_contiguous(op, "a", args.a);
  require_contiguous(op, "b", args.b);
  require_contiguous(op, "out", args.out);
  require_same_numel(op, "a", args.a, "out", args.out);
  require_same_numel(op, "b", args.b, "out", args.out);
}

void check_args(const char*, const BiasAddArgs& args, Device device) {
  require_operand("bias_add", "out", args.out, args.dtype(), "out", device);
  require_operand("bias_add", "x", args.x, args.dtype(), "out", device);
  require_operand("bias_add", "bias", args.bias, args.dtype(), "out", device);
  require_contiguous("bias_add", "x", args.x);
  require_contiguous("bias_add", "bias", args.bias);
  require_contiguous("bias_add", "out", args.out);
  MTNLG_CHECK(args.x.ndim() >= 1,
              str("bias_add: x is ", args.x.describe(), "; it needs a last dimension (..., N)"));
  const std::int64_t n = args.x.dim(-1);
  MTNLG_CHECK(args.bias.ndim() == 1 && args.bias.dim(0) == n,
              str("bias_add: bias is ", args.bias.describe(), " but x is ", args.x.describe(),
                  "; bias must be (", n, "), the last dimension of x"));
  require_same_shape("bias_add", "x", args.x, "out", args.out);
}

void check_args(const char*, const ColumnSumArgs& args, Device device) {
  require_operand("column_sum", "out", args.out, args.dtype(), "out", device);
  require_operand("column_sum", "x", args.x, args.dtype(), "out", device);
  require_contiguous("column_sum", "x", args.x);
  require_contiguous("column_sum", "out", args.out);
  MTNLG_CHECK(args.x.ndim() >= 1,
              str("column_sum: x is ", args.x.describe(), "; it needs a last dimension (..., N)"));
  const std::int64_t n = args.x.dim(-1);
  MTNLG_CHECK(args.out.ndim() == 1 && args.out.dim(0) == n,
              str("column_sum: out is ", args.out.describe(), " but x is ", args.x.describe(),
                  "; out must be (", n, "), the last dimension of x"));
}

void check_args(const char*, const SquaredNormArgs& args, Device device) {
  require_operand("squared_norm", "x", args.x, args.dtype(), "x", device);
  require_operand("squared_norm", "out", args.out, args.dtype(), "x", device);
  require_contiguous("squared_norm", "x", args.x);
  MTNLG_CHECK(args.out.ndim() == 1 && args.out.dim(0) == 1,
              str("squared_norm: out is ", args.out.describe(), "; it must be (1)"));
}

void check_args(const char*, const GeluArgs& args, Device device) {
  require_operand("gelu", "out", args.out, args.dtype(), "out", device);
  require_operand("gelu", "x", args.x, args.dtype(), "out", device);
  require_contiguous("gelu", "x", args.x);
  require_contiguous("gelu", "out", args.out);
  require_same_shape("gelu", "x", args.x, "out", args.out);
}

void check_args(const char*, const GeluBackwardArgs& args, Device device) {
  require_operand("gelu_backward", "dx", args.dx, args.dtype(), "dx", device);
  require_operand("gelu_backward", "x", args.x, args.dtype(), "dx", device);
  require_operand("gelu_backward", "dy", args.dy, args.dtype(), "dx", device);
  require_contiguous("gelu_backward", "x", args.x);
  require_contiguous("gelu_backward", "dy", args.dy);
  require_contiguous("gelu_backward", "dx", args.dx);
  require_same_shape("gelu_backward", "x", args.x, "dy", args.dy);
  require_same_shape("gelu_backward", "x", args.x, "dx", args.dx);
}

}  // namespace mtnlg::ops
