#pragma once
// How the CUDA backend's op files plug into its op table: each op's kernel wrapper unpacks the SDK's Args
// into a launcher of kernels/ on the backend's stream, and the launch is checked at once, so a bad launch
// (too many threads, no kernel image for this GPU) is an error naming the op, the dtype and the device.
#include <cuda_runtime_api.h>

#include <initializer_list>

#include "mtnlg/backend.hpp"

#include "cuda_backend.hpp"
#include "op_profiler.hpp"

namespace mtnlg::cuda {

void register_gemm_ops(OpTable& table);             // gemm_ops.cpp
void register_elementwise_ops(OpTable& table);      // elementwise_ops.cpp
void register_reduction_ops(OpTable& table);        // reduction_ops.cpp
void register_dropout_ops(OpTable& table);          // dropout_ops.cpp
void register_optimizer_ops(OpTable& table);        // optimizer_ops.cpp
void register_embedding_ops(OpTable& table);        // embedding_ops.cpp
void register_normalization_ops(OpTable& table);    // normalization_ops.cpp
void register_attention_ops(OpTable& table);        // attention_ops.cpp
void register_loss_ops(OpTable& table);             // loss_ops.cpp
void register_flash_attention_ops(OpTable& table);  // flash_attention_ops.cpp

inline CudaBackend& backend_of(ExecContext& ctx) {
  return static_cast<CudaBackend&>(ctx.backend);
}
inline cudaStream_t stream_of(ExecContext& ctx) {
  return static_cast<cudaStream_t>(ctx.native_stream);
}

// Throws if the last launch on this thread failed.
void check_launch(const char* op, DType dtype, ExecContext& ctx);

// Every op of the table runs through here: launched, checked, and timed on the stream when the recipe asks
// for a profile (key `profile_ops`, op_profiler.hpp).
template <const auto& Key, void (*Kernel)(const OpArgs<Key>&, ExecContext&)>
void checked_kernel(const OpArgs<Key>& args, ExecContext& ctx) {
  OpProfiler* profiler = backend_of(ctx).profiler();
  if (profiler == nullptr) {
    Kernel(args, ctx);
    check_launch(Key.name, args.dtype(), ctx);
    return;
  }
  const OpProfiler::Span span = profiler->start(Key.name, args.dtype(), stream_of(ctx));
  Kernel(args, ctx);
  check_launch(Key.name, args.dtype(), ctx);
  profiler->stop(span, stream_of(ctx));
}

// register_op<ops::gelu, &gelu_kernel>(table, {DType::f32, DType::f64, DType::bf16, DType::f16}).
template <const auto& Key, void (*Kernel)(const OpArgs<Key>&, ExecContext&)>
void register_op(OpTable& table, std::initializer_list<DType> dtypes) {
  table.add(Key, dtypes, &checked_kernel<Key, Kernel>);
}

}  // namespace mtnlg::cuda
