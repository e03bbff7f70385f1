// gemm on the CPU: OpenBLAS sgemm/dgemm (row-major), one call per batch entry. Strided views work without a
// copy: a slice of a wider matrix only changes the leading dimension (lda/ldb/ldc); the batch stride is
// applied to the base pointer. OpenBLAS parallelises inside each call with its own threads. bf16 and f16
// have no BLAS: tiles of their operands are widened to f32, multiplied by sgemm, and the product rounded
// once.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <type_traits>
#include <vector>

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

// The f32 tiles a 16-bit gemm multiplies: op(a) is widened kTileRows × kTileDepth at a time, op(b)
// kTileDepth × kTileCols, and c is summed in f32 kTileRows × kTileCols at a time, then rounded once. A whole
// operand's f32 copy would cost twice its own memory (the LM head's logits are the largest tensor of a step)
// and a page fault per 4 KiB of it every call; tiles stay in cache. Each operand is widened once per tile of
// the other's free dimension: (1/kTileRows + 1/kTileCols) conversions per multiply-add.
constexpr std::int64_t kTileRows = 512, kTileCols = 512, kTileDepth = 1024;

// Rows [r0, r0 + rows) × columns [c0, c0 + cols) of a stored matrix (leading dimension ld) as a contiguous
// f32 block (exact).
template <class T>
void widen_block(const T* stored, std::int64_t ld, std::int64_t r0, std::int64_t rows, std::int64_t c0,
                 std::int64_t cols, float* out, ThreadPool& pool) {
  pool.parallel_for(rows, row_grain(cols), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T* src = stored + (r0 + r) * ld + c0;
      float* dst = out + r * cols;
      for (std::int64_t j = 0; j < cols; ++j) dst[j] = load(src[j]);
    }
  });
}

// bf16/f16: c = alpha·op(a)·op(b) + beta·c by sgemm on f32 tiles of the operands, rounded once into c. Up to
// kTileRows × kTileCols × kTileDepth this is one sgemm on the widened operands, exactly; beyond, the depth is
// summed in f32 over kTileDepth blocks in order (c's tile starts from beta·c, then each block adds to it).
template <class T>
void gemm_emulated(const ops::GemmArgs& args, const ops::GemmDims& d, ThreadPool& pool) {
  if (d.batch == 0 || d.m == 0 || d.n == 0) return;
  const T* a = args.a.data_as<T>();
  const T* b = args.b.data_as<T>();
  T* c = args.c.data_as<T>();
  const std::int64_t lda = leading_dim(args.a), ldb = leading_dim(args.b), ldc = leading_dim(args.c);
  const std::int64_t a_step = batch_stride(args.a), b_step = batch_stride(args.b),
                     c_step = batch_stride(args.c);
  const auto alpha = static_cast<float>(args.alpha), beta = static_cast<float>(args.beta);
  const std::int64_t tile_m = std::min(d.m, kTileRows), tile_n = std::min(d.n, kTileCols),
                     tile_k = std::min(d.k, kTileDepth);
  std::vector<float> a_tile(static_cast<std::size_t>(tile_m * tile_k)),
      b_tile(static_cast<std::size_t>(tile_k * tile_n)), c_tile(static_cast<std::size_t>(tile_m * tile_n));
  for (std::int64_t bi = 0; bi < d.batch; ++bi) {
    const T* a_mat = a + bi * a_step;
    const T* b_mat = b + bi * b_step;
    T* c_mat = c + bi * c_step;
    for (std::int64_t i0 = 0; i0 < d.m; i0 += kTileRows) {
      const std::int64_t mb = std::min(kTileRows, d.m - i0);
      for (std::int64_t j0 = 0; j0 < d.n; j0 += kTileCols) {
        const std::int64_t nb = std::min(kTileCols, d.n - j0);
        // With beta = 0, c is never read (its old contents, perhaps uninitialised, cannot leak NaNs).
        if (beta != 0.0f) widen_block(c_mat, ldc, i0, mb, j0, nb, c_tile.data(), pool);
        if (d.k == 0) {  // an empty sum: c = beta·c (sgemm requires lda >= 1 with K = 0)
          for (std::int64_t i = 0; i < mb * nb; ++i) c_tile[i] = beta == 0.0f ? 0.0f : beta * c_tile[i];
        }
        for (std::int64_t k0 = 0; k0 < d.k; k0 += kTileDepth) {
          const std::int64_t kb = std::min(kTileDepth, d.k - k0);
          // op(a)'s block (rows i0.., depth k0..) is stored as a's (k0.., i0..) block when a is transposed;
          // the tile keeps the stored orientation and sgemm transposes it.
          if (args.trans_a)
            widen_block(a_mat, lda, k0, kb, i0, mb, a_tile.data(), pool);
          else
            widen_block(a_mat, lda, i0, mb, k0, kb, a_tile.data(), pool);
          if (args.trans_b)
            widen_block(b_mat, ldb, j0, nb, k0, kb, b_tile.data(), pool);
          else
            widen_block(b_mat, ldb, k0, kb, j0, nb, b_tile.data(), pool);
          blas_gemm(args.trans_a, args.trans_b, static_cast<int>(mb), static_cast<int>(nb),
                    static_cast<int>(kb), alpha, a_tile.data(), static_cast<int>(args.trans_a ? mb : kb),
                    b_tile.data(), static_cast<int>(args.trans_b ? kb : nb), k0 == 0 ? beta : 1.0f,
                    c_tile.data(), static_cast<int>(nb));
        }
        pool.parallel_for(mb, row_grain(nb), [&](std::int64_t begin, std::int64_t end) {
          for (std::int64_t i = begin; i < end; ++i) {
            T* dst = c_mat + (i0 + i) * ldc + j0;
            const float* src = c_tile.data() + i * nb;
            for (std::int64_t j = 0; j < nb; ++j) dst[j] = store<T>(src[j]);
          }
        });
      }
    }
  }
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
