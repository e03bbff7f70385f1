#include "mtnlg/op_checks.hpp"

#include <cmath>
#include <initializer_list>
#include <string>
#include <string_view>

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

// Whether two contiguous tensors share a byte. cast's operands differ in dtype, so their element offsets are
// in different units and overlaps() cannot compare them.
bool bytes_overlap(const Tensor& t1, const Tensor& t2) {
  if (t1.storage() != t2.storage() || t1.nbytes() == 0 || t2.nbytes() == 0) return false;
  const auto begin = [](const Tensor& t) {
    return static_cast<std::size_t>(t.offset()) * dtype_size(t.dtype());
  };
  return begin(t1) < begin(t2) + t2.nbytes() && begin(t2) < begin(t1) + t1.nbytes();
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

void check_args(const char*, const CastArgs& args, Device device) {
  const char* op = "cast";
  // Each operand keeps its own dtype: the cast is between them.
  require_operand(op, "src", args.src, args.src.dtype(), "src", device);
  require_operand(op, "dst", args.dst, args.dst.dtype(), "dst", device);
  const auto floating = [](DType t) {
    return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
  };
  MTNLG_CHECK(
      floating(args.src.dtype()) && floating(args.dst.dtype()),
      str(op, ": src is ", args.src.describe(), " and dst is ", args.dst.describe(),
          "; cast converts between the floating dtypes f32, f64, bf16 and f16 (copy moves integers)"));
  require_contiguous(op, "src", args.src);
  require_contiguous(op, "dst", args.dst);
  require_same_shape(op, "src", args.src, "dst", args.dst);
  MTNLG_CHECK(!bytes_overlap(args.src, args.dst),
              str(op, ": output dst (", args.dst.describe(), ") overlaps input src (", args.src.describe(),
                  ") in the same buffer; cast into a separate tensor"));
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

// ---- GPT ops -------------------------------------------------------------------------------------------

namespace mtnlg::ops {
namespace {

// An operand and the name messages give it.
struct Named {
  const char* name;
  const Tensor& tensor;
};

// Token ids and targets are i32 whatever the op's dtype; otherwise checked like any operand.
void require_i32(const char* op, const char* name, const Tensor& t, Device device) {
  require_operand(op, name, t, t.dtype(), name, device);
  MTNLG_CHECK(t.dtype() == DType::i32,
              str(op, ": operand ", name, " is ", t.describe(), " but token ids must be i32; convert them"));
}

void require_all_contiguous(const char* op, std::initializer_list<Named> operands) {
  for (const Named& o : operands) require_contiguous(op, o.name, o.tensor);
}

// `t` must have exactly `shape`; `what` names the dimensions ("(B, T, C)") and `context` the operands they
// come from.
void require_shape(const char* op, const char* name, const Tensor& t, const Shape& shape, const char* what,
                   const std::string& context) {
  MTNLG_CHECK(t.shape() == shape, str(op, ": ", name, " is ", t.describe(), " but must be ", what, " = ",
                                      shape_str(shape), context));
}

// Every output against every input: a row-wise kernel that writes an output over an input it still has to
// read gives wrong results silently.
void require_outputs_disjoint(const char* op, std::initializer_list<Named> outputs,
                              std::initializer_list<Named> inputs) {
  for (const Named& out : outputs)
    for (const Named& in : inputs)
      require_disjoint(op, out.name, out.tensor, in.name, in.tensor, "write it into a separate tensor");
}

// Operands the op writes (or, for adamw, reads and writes) must not share elements with each other.
void require_separate(const char* op, std::initializer_list<Named> operands) {
  for (auto i = operands.begin(); i != operands.end(); ++i)
    for (auto j = i + 1; j != operands.end(); ++j)
      MTNLG_CHECK(!overlaps(i->tensor, j->tensor),
                  str(op, ": operands ", i->name, " (", i->tensor.describe(), ") and ", j->name, " (",
                      j->tensor.describe(), ") overlap in the same buffer; give each its own tensor"));
}

// An output ops.hpp lets alias an input: either the very same view (computed in place, each element read
// before it is written) or disjoint. A partial overlap would read elements already overwritten.
void require_same_view_or_disjoint(const char* op, const char* out_name, const Tensor& out,
                                   const char* in_name, const Tensor& in) {
  const bool same_view = out.storage() == in.storage() && out.offset() == in.offset() &&
                         out.shape() == in.shape() && out.strides() == in.strides();
  if (!same_view)
    require_disjoint(op, out_name, out, in_name, in,
                     "pass the same tensor to compute in place, or write into a separate one");
}

// A bound that ops.hpp gives as [1, limit] (valid_rows, valid_cols).
void require_valid_count(const char* op, const char* name, std::int64_t value, const char* limit_name,
                         std::int64_t limit, const char* of_name, const Tensor& of, const char* fix) {
  MTNLG_CHECK(value >= 1 && value <= limit,
              str(op, ": ", name, " = ", value, " is outside [1, ", limit_name, "] = [1, ", limit, "] for ",
                  of_name, " ", of.describe(), "; ", fix));
}

// (B, T) token ids, (rows, C) table and the optional (≥ T, C) positions shared by embedding and its
// backward; `out` is (B, T, C).
void require_embedding_shapes(const char* op, const char* table_name, const Tensor& table,
                              const Tensor& tokens, const char* pos_name, const Tensor& positions,
                              const char* out_name, const Tensor& out) {
  MTNLG_CHECK(tokens.ndim() == 2, str(op, ": tokens is ", tokens.describe(), "; it must be (B, T)"));
  MTNLG_CHECK(table.ndim() == 2,
              str(op, ": ", table_name, " is ", table.describe(), "; it must be (rows, C)"));
  const std::int64_t b = tokens.dim(0), t = tokens.dim(1), c = table.dim(1);
  const std::string context =
      str(" for tokens ", tokens.describe(), " (B, T) and ", table_name, " ", table.describe(), " (rows, C)");
  require_shape(op, out_name, out, {b, t, c}, "(B, T, C)", context);
  if (positions.defined())
    MTNLG_CHECK(positions.ndim() == 2 && positions.dim(0) >= t && positions.dim(1) == c,
                str(op, ": ", pos_name, " is ", positions.describe(), " but must be (>= T, C) with T = ", t,
                    ", C = ", c, context, "; leave it undefined for no position term"));
}

// The slice fields of embedding and its backward: full_rows = 0 for a whole table (row_offset must then be
// 0), otherwise rows [row_offset, row_offset + rows) of a (full_rows, C) table.
void require_table_slice(const char* op, const char* table_name, const Tensor& table, std::int64_t row_offset,
                         std::int64_t full_rows) {
  const std::int64_t rows = table.dim(0);
  MTNLG_CHECK(full_rows >= 0,
              str(op, ": full_rows = ", full_rows, " is negative; it is the full table's rows ",
                  "for a tensor-parallel slice of it, or 0 when ", table_name, " ", table.describe(),
                  " is the whole table"));
  if (full_rows == 0) {
    MTNLG_CHECK(
        row_offset == 0,
        str(op, ": row_offset = ", row_offset, " but full_rows = 0 (", table_name, " ", table.describe(),
            " is the whole table); for a tensor-parallel slice set full_rows to the full table's rows, "
            "otherwise leave row_offset 0"));
    return;
  }
  MTNLG_CHECK(row_offset >= 0,
              str(op, ": row_offset = ", row_offset, " is negative; ", table_name, " ", table.describe(),
                  " must be rows [row_offset, row_offset + rows) of the full ",
                  "table (full_rows = ", full_rows, ")"));
  MTNLG_CHECK(
      row_offset + rows <= full_rows,
      str(op, ": ", table_name, " ", table.describe(), " at row_offset = ", row_offset, " covers rows [",
          row_offset, ", ", row_offset + rows, ") but the full table has full_rows = ", full_rows,
          "; a tensor-parallel slice needs row_offset + rows <= full_rows"));
}

// (BH, T, T): one square matrix of attention scores per (batch, head).
void require_square_scores(const char* op, const char* name, const Tensor& t) {
  MTNLG_CHECK(t.ndim() == 3 && t.dim(1) == t.dim(2),
              str(op, ": ", name, " is ", t.describe(),
                  "; it must be (BH, T, T): one square score matrix per (batch, head)"));
}

// The operands of the fused attention ops: `heads` (outputs first: the op's dtype is the first one's) all
// (BH, T, d) like q, and lse (BH, T) in the accumulation dtype (ops::flash_attention_lse_dtype). All
// contiguous, on the device; scale finite.
void require_attention_operands(const char* op, const Tensor& q, std::initializer_list<Named> heads,
                                const Tensor& lse, double scale, Device device) {
  const Named& first = *heads.begin();
  const DType dt = first.tensor.dtype();
  for (const Named& o : heads) require_operand(op, o.name, o.tensor, dt, first.name, device);
  require_operand(op, "lse", lse, lse.dtype(), "lse", device);
  const DType lse_dt = flash_attention_lse_dtype(dt);
  MTNLG_CHECK(
      lse.dtype() == lse_dt,
      str(op, ": lse is ", lse.describe(), " but must be ", dtype_name(lse_dt), " for ", dtype_name(dt),
          " operands: the log-sum-exp is kept in the accumulation type (ops::flash_attention_lse_dtype)"));
  for (const Named& o : heads) require_contiguous(op, o.name, o.tensor);
  require_contiguous(op, "lse", lse);
  MTNLG_CHECK(q.ndim() == 3, str(op, ": q is ", q.describe(),
                                 "; it must be (BH, T, d): one (T, d) matrix per (batch, head)"));
  MTNLG_CHECK(q.dim(2) >= 1 && q.dim(2) <= kFlashAttentionMaxHeadDim,
              str(op, ": q is ", q.describe(), "; the head size d must be in [1, ", kFlashAttentionMaxHeadDim,
                  "] (larger heads take the unfused ops: gemm, causal_softmax)"));
  const std::string context = str(" for q ", q.describe(), " (BH, T, d)");
  for (const Named& o : heads) require_shape(op, o.name, o.tensor, q.shape(), "(BH, T, d)", context);
  require_shape(op, "lse", lse, {q.dim(0), q.dim(1)}, "(BH, T)", context);
  MTNLG_CHECK(std::isfinite(scale),
              str(op, ": scale = ", scale, " must be finite (the softmax temperature, typically 1/√d)"));
}

// logits (N, V), targets (N) and valid_cols in [1, V], shared by cross_entropy and its backward.
void require_loss_shapes(const char* op, const Tensor& logits, const Tensor& targets,
                         std::int64_t valid_cols) {
  MTNLG_CHECK(logits.ndim() == 2, str(op, ": logits is ", logits.describe(),
                                      "; it must be (N, V): reshape (B, T, V) logits to (B·T, V)"));
  require_shape(op, "targets", targets, {logits.dim(0)}, "(N)",
                str(" for logits ", logits.describe(), " (N, V)"));
  require_valid_count(op, "valid_cols", valid_cols, "V", logits.dim(1), "logits", logits,
                      "set it to the vocabulary size (the logits may have padding columns beyond it)");
}

// The shared fields of the vocabulary-parallel cross-entropy ops: logits (N, Vl) holding columns
// [col_offset, col_offset + Vl) of the full logits, targets (N), valid_cols in [0, Vl], and (N) operands.
void require_partial_loss_shapes(const char* op, const Tensor& logits, const Tensor& targets,
                                 std::int64_t col_offset, std::int64_t valid_cols, std::int64_t vocab_size,
                                 std::initializer_list<Named> per_row) {
  MTNLG_CHECK(logits.ndim() == 2, str(op, ": logits is ", logits.describe(),
                                      "; it must be (N, Vl): reshape (B, T, Vl) logits to (B·T, Vl)"));
  const std::string context = str(" for logits ", logits.describe(), " (N, Vl)");
  require_shape(op, "targets", targets, {logits.dim(0)}, "(N)", context);
  for (const Named& o : per_row) require_shape(op, o.name, o.tensor, {logits.dim(0)}, "(N)", context);
  MTNLG_CHECK(col_offset >= 0,
              str(op, ": col_offset = ", col_offset, " is negative; it is the column of the full logits ",
                  "where logits ", logits.describe(), " (this slice) starts"));
  MTNLG_CHECK(
      valid_cols >= 0 && valid_cols <= logits.dim(1),
      str(op, ": valid_cols = ", valid_cols, " is outside [0, Vl] = [0, ", logits.dim(1), "] for logits ",
          logits.describe(), "; set it to the number of this slice's columns in the real vocabulary ",
          "(0 when the slice is all padding)"));
  MTNLG_CHECK(vocab_size >= 0,
              str(op, ": vocab_size = ", vocab_size,
                  " is negative; set it to the size of the whole vocabulary, or 0 not to check "
                  "targets against it"));
  MTNLG_CHECK(vocab_size == 0 || valid_cols == 0 || vocab_size >= col_offset + valid_cols,
              str(op, ": vocab_size = ", vocab_size,
                  " is smaller than col_offset + valid_cols = ", col_offset + valid_cols,
                  " (the slice's last vocabulary column + 1); set it to the size of the ",
                  "whole vocabulary, or 0 not to check targets against it"));
}

// A per-row statistic of the cross-entropy family (losses, row_max, sum_exp, target_logit): on this device,
// in the logits' dtype or, for 16-bit logits, f32 (ops::cross_entropy_stats_dtype_ok). `like`, when given,
// is a statistic it must share its dtype with.
void require_stats_operand(const char* op, const char* name, const Tensor& t, DType logits, Device device,
                           const Named* like = nullptr) {
  require_operand(op, name, t, t.dtype(), name, device);
  MTNLG_CHECK(cross_entropy_stats_dtype_ok(logits, t.dtype()),
              str(op, ": ", name, " is ", t.describe(), " but the logits are ", dtype_name(logits),
                  "; a per-row statistic is in the logits' dtype",
                  logits == DType::bf16 || logits == DType::f16 ? " or f32" : "",
                  " (ops::cross_entropy_stats_dtype_ok)"));
  if (like != nullptr)
    MTNLG_CHECK(t.dtype() == like->tensor.dtype(),
                str(op, ": ", name, " is ", t.describe(), " but ", like->name, " is ",
                    like->tensor.describe(), "; the per-row statistics need one dtype"));
}

}  // namespace

void check_args(const char*, const EmbeddingArgs& args, Device device) {
  const char* op = "embedding";
  const DType dt = args.dtype();
  require_operand(op, "table", args.table, dt, "table", device);
  require_operand(op, "out", args.out, dt, "table", device);
  require_i32(op, "tokens", args.tokens, device);
  require_all_contiguous(op, {{"tokens", args.tokens}, {"table", args.table}, {"out", args.out}});
  if (args.positions.defined()) {
    require_operand(op, "positions", args.positions, dt, "table", device);
    require_contiguous(op, "positions", args.positions);
  }
  require_embedding_shapes(op, "table", args.table, args.tokens, "positions", args.positions, "out",
                           args.out);
  require_table_slice(op, "table", args.table, args.row_offset, args.full_rows);
  if (args.full_rows == 0)
    require_valid_count(op, "valid_rows", args.valid_rows, "rows", args.table.dim(0), "table", args.table,
                        "set it to the vocabulary size (the table may have padding rows beyond it)");
  else
    require_valid_count(op, "valid_rows", args.valid_rows, "full_rows", args.full_rows, "the slice",
                        args.table,
                        "set it to the vocabulary size (the full table may have padding rows beyond it)");
  require_outputs_disjoint(op, {{"out", args.out}},
                           {{"tokens", args.tokens}, {"table", args.table}, {"positions", args.positions}});
}

void check_args(const char*, const EmbeddingBackwardArgs& args, Device device) {
  const char* op = "embedding_backward";
  const DType dt = args.dtype();
  require_operand(op, "dtable", args.dtable, dt, "dtable", device);
  require_operand(op, "dout", args.dout, dt, "dtable", device);
  require_i32(op, "tokens", args.tokens, device);
  require_all_contiguous(op, {{"tokens", args.tokens}, {"dout", args.dout}, {"dtable", args.dtable}});
  if (args.dpositions.defined()) {
    require_operand(op, "dpositions", args.dpositions, dt, "dtable", device);
    require_contiguous(op, "dpositions", args.dpositions);
  }
  require_embedding_shapes(op, "dtable", args.dtable, args.tokens, "dpositions", args.dpositions, "dout",
                           args.dout);
  require_table_slice(op, "dtable", args.dtable, args.row_offset, args.full_rows);
  require_outputs_disjoint(op, {{"dtable", args.dtable}, {"dpositions", args.dpositions}},
                           {{"tokens", args.tokens}, {"dout", args.dout}});
  require_separate(op, {{"dtable", args.dtable}, {"dpositions", args.dpositions}});
}

void check_args(const char*, const LayerNormArgs& args, Device device) {
  const char* op = "layernorm";
  const DType dt = args.dtype();
  require_operand(op, "out", args.out, dt, "out", device);
  require_operand(op, "x", args.x, dt, "out", device);
  require_operand(op, "gamma", args.gamma, dt, "out", device);
  require_operand(op, "beta", args.beta, dt, "out", device);
  require_operand(op, "mean", args.mean, dt, "out", device);
  require_operand(op, "rstd", args.rstd, dt, "out", device);
  require_all_contiguous(op, {{"x", args.x},
                              {"gamma", args.gamma},
                              {"beta", args.beta},
                              {"out", args.out},
                              {"mean", args.mean},
                              {"rstd", args.rstd}});
  MTNLG_CHECK(args.x.ndim() == 2, str(op, ": x is ", args.x.describe(),
                                      "; it must be (N, C): reshape (B, T, C) activations to (B·T, C)"));
  const std::int64_t n = args.x.dim(0), c = args.x.dim(1);
  const std::string context = str(" for x ", args.x.describe(), " (N, C)");
  require_same_shape(op, "x", args.x, "out", args.out);
  require_shape(op, "gamma", args.gamma, {c}, "(C)", context);
  require_shape(op, "beta", args.beta, {c}, "(C)", context);
  require_shape(op, "mean", args.mean, {n}, "(N)", context);
  require_shape(op, "rstd", args.rstd, {n}, "(N)", context);
  MTNLG_CHECK(args.eps >= 0.0 && std::isfinite(args.eps),
              str(op, ": eps = ", args.eps, " must be finite and >= 0 (typically 1e-5)"));
  require_outputs_disjoint(op, {{"out", args.out}, {"mean", args.mean}, {"rstd", args.rstd}},
                           {{"x", args.x}, {"gamma", args.gamma}, {"beta", args.beta}});
  require_separate(op, {{"out", args.out}, {"mean", args.mean}, {"rstd", args.rstd}});
}

void check_args(const char*, const LayerNormBackwardArgs& args, Device device) {
  const char* op = "layernorm_backward";
  const DType dt = args.dtype();
  require_operand(op, "dx", args.dx, dt, "dx", device);
  require_operand(op, "dy", args.dy, dt, "dx", device);
  require_operand(op, "x", args.x, dt, "dx", device);
  require_operand(op, "gamma", args.gamma, dt, "dx", device);
  require_operand(op, "mean", args.mean, dt, "dx", device);
  require_operand(op, "rstd", args.rstd, dt, "dx", device);
  require_operand(op, "dgamma", args.dgamma, dt, "dx", device);
  require_operand(op, "dbeta", args.dbeta, dt, "dx", device);
  require_all_contiguous(op, {{"dy", args.dy},
                              {"x", args.x},
                              {"gamma", args.gamma},
                              {"mean", args.mean},
                              {"rstd", args.rstd},
                              {"dx", args.dx},
                              {"dgamma", args.dgamma},
                              {"dbeta", args.dbeta}});
  MTNLG_CHECK(args.x.ndim() == 2, str(op, ": x is ", args.x.describe(),
                                      "; it must be (N, C): reshape (B, T, C) activations to (B·T, C)"));
  const std::int64_t n = args.x.dim(0), c = args.x.dim(1);
  const std::string context = str(" for x ", args.x.describe(), " (N, C)");
  require_same_shape(op, "x", args.x, "dy", args.dy);
  require_same_shape(op, "x", args.x, "dx", args.dx);
  require_shape(op, "gamma", args.gamma, {c}, "(C)", context);
  require_shape(op, "mean", args.mean, {n}, "(N)", context);
  require_shape(op, "rstd", args.rstd, {n}, "(N)", context);
  require_shape(op, "dgamma", args.dgamma, {c}, "(C)", context);
  require_shape(op, "dbeta", args.dbeta, {c}, "(C)", context);
  require_outputs_disjoint(
      op, {{"dx", args.dx}, {"dgamma", args.dgamma}, {"dbeta", args.dbeta}},
      {{"dy", args.dy}, {"x", args.x}, {"gamma", args.gamma}, {"mean", args.mean}, {"rstd", args.rstd}});
  require_separate(op, {{"dx", args.dx}, {"dgamma", args.dgamma}, {"dbeta", args.dbeta}});
}

void check_args(const char*, const CausalSoftmaxArgs& args, Device device) {
  const char* op = "causal_softmax";
  const DType dt = args.dtype();
  require_operand(op, "probs", args.probs, dt, "probs", device);
  require_operand(op, "scores", args.scores, dt, "probs", device);
  require_all_contiguous(op, {{"scores", args.scores}, {"probs", args.probs}});
  require_square_scores(op, "scores", args.scores);
  require_same_shape(op, "scores", args.scores, "probs", args.probs);
  require_same_view_or_disjoint(op, "probs", args.probs, "scores", args.scores);
}

void check_args(const char*, const CausalSoftmaxBackwardArgs& args, Device device) {
  const char* op = "causal_softmax_backward";
  const DType dt = args.dtype();
  require_operand(op, "dscores", args.dscores, dt, "dscores", device);
  require_operand(op, "probs", args.probs, dt, "dscores", device);
  require_operand(op, "dprobs", args.dprobs, dt, "dscores", device);
  require_all_contiguous(op, {{"probs", args.probs}, {"dprobs", args.dprobs}, {"dscores", args.dscores}});
  require_square_scores(op, "probs", args.probs);
  require_same_shape(op, "probs", args.probs, "dprobs", args.dprobs);
  require_same_shape(op, "probs", args.probs, "dscores", args.dscores);
  require_same_view_or_disjoint(op, "dscores", args.dscores, "dprobs", args.dprobs);
  require_outputs_disjoint(op, {{"dscores", args.dscores}}, {{"probs", args.probs}});
}

void check_args(const char*, const FlashAttentionArgs& args, Device device) {
  const char* op = "flash_attention";
  require_attention_operands(op, args.q, {{"out", args.out}, {"q", args.q}, {"k", args.k}, {"v", args.v}},
                             args.lse, args.scale, device);
  require_outputs_disjoint(op, {{"out", args.out}, {"lse", args.lse}},
                           {{"q", args.q}, {"k", args.k}, {"v", args.v}});
  require_separate(op, {{"out", args.out}, {"lse", args.lse}});
}

void check_args(const char*, const FlashAttentionBackwardArgs& args, Device device) {
  const char* op = "flash_attention_backward";
  require_attention_operands(op, args.q,
                             {{"dq", args.dq},
                              {"dk", args.dk},
                              {"dv", args.dv},
                              {"q", args.q},
                              {"k", args.k},
                              {"v", args.v},
                              {"out", args.out},
                              {"dout", args.dout}},
                             args.lse, args.scale, device);
  require_outputs_disjoint(op, {{"dq", args.dq}, {"dk", args.dk}, {"dv", args.dv}},
                           {{"q", args.q},
                            {"k", args.k},
                            {"v", args.v},
                            {"out", args.out},
                            {"lse", args.lse},
                            {"dout", args.dout}});
  require_separate(op, {{"dq", args.dq}, {"dk", args.dk}, {"dv", args.dv}});
}

void check_args(const char*, const CrossEntropyArgs& args, Device device) {
  const char* op = "cross_entropy";
  const DType dt = args.dtype();
  require_operand(op, "logits", args.logits, dt, "logits", device);
  require_stats_operand(op, "losses", args.losses, dt, device);
  require_i32(op, "targets", args.targets, device);
  require_all_contiguous(op, {{"logits", args.logits}, {"targets", args.targets}, {"losses", args.losses}});
  require_loss_shapes(op, args.logits, args.targets, args.valid_cols);
  require_shape(op, "losses", args.losses, {args.logits.dim(0)}, "(N)",
                str(" for logits ", args.logits.describe(), " (N, V)"));
  require_outputs_disjoint(op, {{"losses", args.losses}},
                           {{"logits", args.logits}, {"targets", args.targets}});
}

void check_args(const char*, const CrossEntropyBackwardArgs& args, Device device) {
  const char* op = "cross_entropy_backward";
  const DType dt = args.dtype();
  require_operand(op, "dlogits", args.dlogits, dt, "dlogits", device);
  require_operand(op, "logits", args.logits, dt, "dlogits", device);
  require_i32(op, "targets", args.targets, device);
  require_all_contiguous(op, {{"logits", args.logits}, {"targets", args.targets}, {"dlogits", args.dlogits}});
  require_loss_shapes(op, args.logits, args.targets, args.valid_cols);
  require_same_shape(op, "logits", args.logits, "dlogits", args.dlogits);
  require_same_view_or_disjoint(op, "dlogits", args.dlogits, "logits", args.logits);
  require_outputs_disjoint(op, {{"dlogits", args.dlogits}}, {{"targets", args.targets}});
}

void check_args(const char*, const RowMaxArgs& args, Device device) {
  const char* op = "row_max";
  const DType dt = args.dtype();
  require_operand(op, "x", args.x, dt, "x", device);
  require_stats_operand(op, "out", args.out, dt, device);
  require_all_contiguous(op, {{"x", args.x}, {"out", args.out}});
  MTNLG_CHECK(args.x.ndim() == 2, str(op, ": x is ", args.x.describe(),
                                      "; it must be (N, V): reshape (B, T, V) logits to (B·T, V)"));
  require_shape(op, "out", args.out, {args.x.dim(0)}, "(N)", str(" for x ", args.x.describe(), " (N, V)"));
  MTNLG_CHECK(args.valid_cols >= 0 && args.valid_cols <= args.x.dim(1),
              str(op, ": valid_cols = ", args.valid_cols, " is outside [0, V] = [0, ", args.x.dim(1),
                  "] for x ", args.x.describe(), "; set it to the number of columns in the real vocabulary ",
                  "(0 when they are all padding)"));
  require_outputs_disjoint(op, {{"out", args.out}}, {{"x", args.x}});
}

void check_args(const char*, const CrossEntropyPartialArgs& args, Device device) {
  const char* op = "cross_entropy_partial";
  const DType dt = args.dtype();
  require_operand(op, "logits", args.logits, dt, "logits", device);
  require_i32(op, "targets", args.targets, device);
  const Named sum_exp{"sum_exp", args.sum_exp};
  require_stats_operand(op, "sum_exp", args.sum_exp, dt, device);
  require_stats_operand(op, "row_max", args.row_max, dt, device, &sum_exp);
  require_stats_operand(op, "target_logit", args.target_logit, dt, device, &sum_exp);
  require_all_contiguous(op, {{"logits", args.logits},
                              {"targets", args.targets},
                              {"row_max", args.row_max},
                              {"sum_exp", args.sum_exp},
                              {"target_logit", args.target_logit}});
  require_partial_loss_shapes(
      op, args.logits, args.targets, args.col_offset, args.valid_cols, args.vocab_size,
      {{"row_max", args.row_max}, {"sum_exp", args.sum_exp}, {"target_logit", args.target_logit}});
  require_outputs_disjoint(op, {{"sum_exp", args.sum_exp}, {"target_logit", args.target_logit}},
                           {{"logits", args.logits}, {"targets", args.targets}, {"row_max", args.row_max}});
  require_separate(op, {{"sum_exp", args.sum_exp}, {"target_logit", args.target_logit}});
}

void check_args(const char*, const CrossEntropyFromPartsArgs& args, Device device) {
  const char* op = "cross_entropy_from_parts";
  const DType dt = args.dtype();
  require_operand(op, "losses", args.losses, dt, "losses", device);
  require_operand(op, "row_max", args.row_max, dt, "losses", device);
  require_operand(op, "sum_exp", args.sum_exp, dt, "losses", device);
  require_operand(op, "target_logit", args.target_logit, dt, "losses", device);
  require_all_contiguous(op, {{"row_max", args.row_max},
                              {"sum_exp", args.sum_exp},
                              {"target_logit", args.target_logit},
                              {"losses", args.losses}});
  MTNLG_CHECK(args.losses.ndim() == 1,
              str(op, ": losses is ", args.losses.describe(), "; it must be (N), one loss per token"));
  const std::string context = str(" for losses ", args.losses.describe(), " (N)");
  require_shape(op, "row_max", args.row_max, args.losses.shape(), "(N)", context);
  require_shape(op, "sum_exp", args.sum_exp, args.losses.shape(), "(N)", context);
  require_shape(op, "target_logit", args.target_logit, args.losses.shape(), "(N)", context);
  require_same_view_or_disjoint(op, "losses", args.losses, "row_max", args.row_max);
  require_same_view_or_disjoint(op, "losses", args.losses, "sum_exp", args.sum_exp);
  require_same_view_or_disjoint(op, "losses", args.losses, "target_logit", args.target_logit);
}

void check_args(const char*, const CrossEntropyPartialBackwardArgs& args, Device device) {
  const char* op = "cross_entropy_partial_backward";
  const DType dt = args.dtype();
  require_operand(op, "dlogits", args.dlogits, dt, "dlogits", device);
  require_operand(op, "logits", args.logits, dt, "dlogits", device);
  require_i32(op, "targets", args.targets, device);
  const Named sum_exp{"sum_exp", args.sum_exp};
  require_stats_operand(op, "sum_exp", args.sum_exp, dt, device);
  require_stats_operand(op, "row_max", args.row_max, dt, device, &sum_exp);
  require_all_contiguous(op, {{"logits", args.logits},
                              {"targets", args.targets},
                              {"row_max", args.row_max},
                              {"sum_exp", args.sum_exp},
                              {"dlogits", args.dlogits}});
  require_partial_loss_shapes(op, args.logits, args.targets, args.col_offset, args.valid_cols,
                              args.vocab_size, {{"row_max", args.row_max}, {"sum_exp", args.sum_exp}});
  require_same_shape(op, "logits", args.logits, "dlogits", args.dlogits);
  require_same_view_or_disjoint(op, "dlogits", args.dlogits, "logits", args.logits);
  require_outputs_disjoint(op, {{"dlogits", args.dlogits}},
                           {{"targets", args.targets}, {"row_max", args.row_max}, {"sum_exp", args.sum_exp}});
}

// One Args struct serves dropout (x → out) and dropout_backward (dy → dx): messages use the op's own names.
void check_args(const char* op, const DropoutArgs& args, Device device) {
  const bool backward = std::string_view(op) == "dropout_backward";
  const char* in = backward ? "dy" : "x";
  const char* out = backward ? "dx" : "out";
  require_operand(op, out, args.out, args.dtype(), out, device);
  require_operand(op, in, args.x, args.dtype(), out, device);
  require_all_contiguous(op, {{in, args.x}, {out, args.out}});
  MTNLG_CHECK(args.x.ndim() >= 1,
              str(op, ": ", in, " is ", args.x.describe(), "; it needs a leading sample dimension (B, ...)"));
  require_same_shape(op, in, args.x, out, args.out);
  MTNLG_CHECK(args.p >= 0.0 && args.p < 1.0,
              str(op, ": p = ", args.p, " is outside [0, 1); use 0 for no dropout"));
  MTNLG_CHECK(args.first_sample >= 0 && args.element_offset >= 0,
              str(op, ": first_sample = ", args.first_sample, " and element_offset = ", args.element_offset,
                  " must both be >= 0 (they place ", in, " ", args.x.describe(), " inside the full tensor)"));
  require_same_view_or_disjoint(op, out, args.out, in, args.x);
}

void check_args(const char*, const AdamWArgs& args, Device device) {
  const char* op = "adamw";
  const DType dt = args.dtype();
  require_operand(op, "param", args.param, dt, "param", device);
  require_operand(op, "grad", args.grad, dt, "param", device);
  require_operand(op, "m", args.m, dt, "param", device);
  require_operand(op, "v", args.v, dt, "param", device);
  require_all_contiguous(op, {{"param", args.param}, {"grad", args.grad}, {"m", args.m}, {"v", args.v}});
  require_same_numel(op, "grad", args.grad, "param", args.param);
  require_same_numel(op, "m", args.m, "param", args.param);
  require_same_numel(op, "v", args.v, "param", args.param);
  MTNLG_CHECK(args.beta1 >= 0.0 && args.beta1 < 1.0 && args.beta2 >= 0.0 && args.beta2 < 1.0,
              str(op, ": beta1 = ", args.beta1, " and beta2 = ", args.beta2,
                  " must be in [0, 1) (typically 0.9 and 0.95 or 0.999)"));
  MTNLG_CHECK(args.eps > 0.0, str(op, ": eps = ", args.eps, " must be > 0 (typically 1e-8)"));
  MTNLG_CHECK(args.step >= 1,
              str(op, ": step = ", args.step,
                  " must be >= 1: it counts optimizer steps from 1, for the bias correction"));
  require_separate(op, {{"param", args.param}, {"grad", args.grad}, {"m", args.m}, {"v", args.v}});
}

}  // namespace mtnlg::ops
