// gemm on the CPU: OpenBLAS sgemm/dgemm (row-major), one call per batch entry. Strided views work without a
// copy: a slice of a wider matrix only changes the leading dimension (lda/ldb/ldc); the batch stride is
// applied to the base pointer. OpenBLAS parallelises inside each call with its own threads.
#include <cblas.h>

#include <algorithm>
#include <climits>

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

void gemm_kernel(const ops::GemmArgs& args, ExecContext&) {
  const ops::GemmDims d = ops::gemm_dims(args);
  visit_floating("gemm", args.dtype(), [&](auto t) { gemm_typed<decltype(t)>(args, d); });
}

}  // namespace

void register_gemm_kernels(OpTable& table) {
  register_op<ops::gemm, &gemm_kernel>(table, {DType::f32, DType::f64});
}

}  // namespace mtnlg::cpu
