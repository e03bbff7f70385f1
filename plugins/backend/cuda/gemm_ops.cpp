// gemm through cuBLAS (cublasGemmStridedBatchedEx), f32 accumulation for f32/bf16/f16 and f64 for f64.
//
// The SDK's tensors are row-major and cuBLAS is column-major: a row-major (M, N) matrix with row stride ld is
// the column-major (N, M) matrix with leading dimension ld. So the row-major C = op(A)·op(B) is computed as
// the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS gets B first, then A, with the dimensions N, M, K and the same
// transpose flags. Strided views whose last dimension has stride 1 need no copy.
#include <cublas_v2.h>

#include <cstdint>
#include <limits>

#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "cuda_ops.hpp"
#include "cuda_status.hpp"

namespace mtnlg::cuda {
namespace {

cudaDataType_t data_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return CUDA_R_32F;
    case DType::f64:
      return CUDA_R_64F;
    case DType::bf16:
      return CUDA_R_16BF;
    case DType::f16:
      return CUDA_R_16F;
    default:
      fail(str("gemm: no cuBLAS type for ", dtype_name(dtype)));
  }
}

// One operand as cuBLAS sees it: base pointer, leading dimension (the row stride) and batch stride.
struct Operand {
  const void* data;
  std::int64_t ld, batch_stride;
};

Operand operand(const Tensor& t) {
  const int n = t.ndim();
  const std::int64_t ld = std::max<std::int64_t>(t.strides()[n - 2], t.dim(-1));
  const std::int64_t batch_stride = n == 3 ? t.strides()[0] : 0;
  return {t.data(), ld, batch_stride};
}

int as_int(std::int64_t v, const char* what) {
  MTNLG_CHECK(v <= std::numeric_limits<int>::max(),
              str("gemm: ", what, " = ", v, " exceeds cuBLAS's 32-bit int; split the operation"));
  return static_cast<int>(v);
}

void gemm_kernel(const ops::GemmArgs& args, ExecContext& ctx) {
  CudaBackend& be = backend_of(ctx);
  const Tensor &a = args.a, &b = args.b, &c = args.c;
  const bool batched = c.ndim() == 3;
  const std::int64_t batch = batched ? c.dim(0) : 1;
  const std::int64_t m = c.dim(-2), n = c.dim(-1);
  const std::int64_t k = args.trans_a ? a.dim(-2) : a.dim(-1);
  if (m == 0 || n == 0 || batch == 0) return;
  const Operand oa = operand(a), ob = operand(b), oc = operand(c);
  const cudaDataType_t type = data_type(c.dtype());
  const bool f64 = c.dtype() == DType::f64;
  // bf16/f16 always run on tensor cores with f32 accumulation; TF32 only changes how f32 inputs are read.
  const cublasComputeType_t compute_type =
      f64 ? CUBLAS_COMPUTE_64F
          : (c.dtype() == DType::f32 && be.tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F);
  const double alpha64 = args.alpha, beta64 = args.beta;
  const float alpha32 = static_cast<float>(args.alpha), beta32 = static_cast<float>(args.beta);
  const void* alpha = f64 ? static_cast<const void*>(&alpha64) : &alpha32;
  const void* beta = f64 ? static_cast<const void*>(&beta64) : &beta32;
  const cublasOperation_t op_a = args.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = args.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  // k == 0: C = beta·C, which cuBLAS does itself.
  MTNLG_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
                         be.cublas(), op_b, op_a, as_int(n, "N"), as_int(m, "M"), as_int(k, "K"), alpha,
                         ob.data, type, as_int(ob.ld, "ldb"), ob.batch_stride, oa.data, type,
                         as_int(oa.ld, "lda"), oa.batch_stride, beta, c.data(), type, as_int(oc.ld, "ldc"),
                         oc.batch_stride, as_int(batch, "batch"), compute_type, CUBLAS_GEMM_DEFAULT),
                     be.device_index());
}

}  // namespace

void register_gemm_ops(OpTable& table) {
  register_op<ops::gemm, &gemm_kernel>(table, {DType::f32, DType::f64, DType::bf16, DType::f16});
}

}  // namespace mtnlg::cuda
