// gemm on the CPU: OpenBLAS sgemm/dgemm (row-major), one call per batch entry. Strided views work without a
// copy: a slice of a wider matrix only changes the leading dimension (lda/ldb/ldc); the batch stride is
// applied to the base pointer. OpenBLAS parallelises inside each call with its own threads. bf16 and f16
// have no BLAS: their operands are widened to f32, multiplied by sgemm, and the product rounded once.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <type_traits>

#include "mtnlg/ops.hpp"

#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

void blas_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
               int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
}

void blas_gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
               int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
}

// The leading dimension BLAS wants for a stored (rows, cols) matrix: the row stride, or any value >= cols
// when there is a single row (then the stride is never used, and may be smaller than cols for a sliced view).
std::int64_t leading_dim(const Tensor& t) {
  const std::int64_t rows = t.dim(-2), cols = t.dim(-1);
  return rows > 1 ? t.strides()[t.ndim() - 2] : std::max<std::int64_t>(1, cols);
}

std::int64_t batch_stride(const Tensor& t) {
  return t.ndim() == 3 ? t.strides()[0] : 0;
}

int blas_int(std::int64_t v, const char* what, const ops::GemmArgs& args) {
  MTNLG_CHECK(v <= INT_MAX, str("gemm: ", what, " = ", v, " exceeds OpenBLAS's 32-bit index (a: ",
                                args.a.describe(), ", b: ", args.b.describe(), ", c: ", args.c.describe(),
                                "); split the product into smaller ones"));
  return static_cast<int>(v);
}

template <class T>
void gemm_typed(const ops::GemmArgs& args, const ops::GemmDims& d) {
  if (d.batch == 0 || d.m == 0 || d.n == 0) return;
  T* c = args.c.data_as<T>();
  const std::int64_t ldc = leading_dim(args.c), c_step = batch_stride(args.c);
  const T alpha = static_cast<T>(args.alpha), beta = static_cast<T>(args.beta);
  if (d.k == 0) {
    // An empty sum: c = beta · c (BLAS requires lda >= 1 with K = 0, so do it here). beta = 0 writes zeros
    // without reading c, as BLAS does, so uninitialised memory never leaks NaNs into the result.
    for (std::int64_t bi = 0; bi < d.batch; ++bi)
      for (std::int64_t i = 0; i < d.m; ++i) {
        T* row = c + bi * c_step + i * ldc;
        for (std::int64_t j = 0; j < d.n; ++j) row[j] = beta == T(0) ? T(0) : beta * row[j];
      }
    return;
  }
  const T* a = args.a.data_as<T>();
  const T* b = args.b.data_as<T>();
  const int m = blas_int(d.m, "M", args), n = blas_int(d.n, "N", args), k = blas_int(d.k, "K", args);
  const int lda = blas_int(leading_dim(args.a), "lda", args),
            ldb = blas_int(leading_dim(args.b), "ldb", args), ldc_i = blas_int(ldc, "ldc", args);
  const std::int64_t a_step = batch_stride(args.a), b_step = batch_stride(args.b);
  for (std::int64_t bi = 0; bi < d.batch; ++bi) {
    blas_gemm(args.trans_a, args.trans_b, m, n, k, alpha, a + bi * a_step, lda, b + bi * b_step, ldb, beta,
              c + bi * c_step, ldc_i);
  }
}

// Calls f(stored row, contiguous row) for every row of the stored matrices of t ((rows, cols) or a batch of
// them): the layout of a gemm operand, whose last dimension has stride 1.
template <class T, class F>
void for_each_matrix_row(const Tensor& t, ThreadPool& pool, F&& f) {
  const std::int64_t rows = t.dim(-2), cols = t.dim(-1), batch = t.ndim() == 3 ? t.dim(0) : 1;
  const std::int64_t row_stride = t.strides()[t.ndim() - 2], batch_step = batch_stride(t);
  T* base = t.data_as<std::remove_const_t<T>>();
  pool.parallel_for(batch * rows, row_grain(cols), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r)
      f(base + (r / rows) * batch_step + (r % rows) * row_stride, r * cols);
  });
}

// A gemm operand of a 16-bit dtype as a contiguous f32 host tensor (exact). The scratch is not the backend's
// memory, so alloc_stats, and the meta backend's prediction of it, count only the caller's tensors.
template <class T>
Tensor widen_operand(const Tensor& t, ThreadPool& pool) {
  Tensor wide = host_tensor(t.shape(), DType::f32);
  float* out = wide.data_as<float>();
  const std::int64_t cols = t.dim(-1);
  for_each_matrix_row<const T>(t, pool, [&](const T* row, std::int64_t first) {
    for (std::int64_t j = 0; j < cols; ++j) out[first + j] = load(row[j]);
  });
  return wide;
}

// bf16/f16: c = alpha·a·b + beta·c by sgemm on f32 copies of the operands (c's stored values when beta ≠ 0),
// then c rounded once: exactly the f32 kernel on the 16-bit values, rounded.
template <class T>
void gemm_emulated(const ops::GemmArgs& args, const ops::GemmDims& d, ThreadPool& pool) {
  if (d.batch == 0 || d.m == 0 || d.n == 0) return;
  ops::GemmArgs wide = args;
  wide.a = widen_operand<T>(args.a, pool);
  wide.b = widen_operand<T>(args.b, pool);
  // With beta = 0 neither BLAS nor gemm_typed reads c, so it needs no copy (and its old contents, perhaps
  // uninitialised, cannot leak NaNs).
  wide.c = args.beta == 0.0 ? host_tensor(args.c.shape(), DType::f32) : widen_operand<T>(args.c, pool);
  gemm_typed<float>(wide, d);
  const float* product = wide.c.data_as<float>();
  const std::int64_t cols = args.c.dim(-1);
  for_each_matrix_row<T>(args.c, pool, [&](T* row, std::int64_t first) {
    for (std::int64_t j = 0; j < cols; ++j) row[j] = store<T>(product[first + j]);
  });
}

void gemm_kernel(const ops::GemmArgs& args, ExecContext& ctx) {
  const ops::GemmDims d = ops::gemm_dims(args);
  visit_floating("gemm", args.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, compute_t<T>>)
      gemm_typed<T>(args, d);
    else
      gemm_emulated<T>(args, d, pool_of(ctx));
  });
}

}  // namespace

void register_gemm_kernels(OpTable& table) {
  register_op<ops::gemm, &gemm_kernel>(table, {DType::f32, DType::f64, DType::bf16, DType::f16});
}

}  // namespace mtnlg::cpu
