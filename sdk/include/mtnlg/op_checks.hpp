#pragma once
// The argument contract of the standard ops (ops.hpp), shared by every backend so CPU, meta and CUDA cannot
// drift apart. Backend::run calls check_args(op, args, device) when an op is queued, before any kernel runs,
// so a bad call fails at its call site — even on a deferred or asynchronous stream — with a message naming
// the op, the operands' shapes and what to do. A third party's op gets the same by declaring a check_args
// overload for its Args in the Args' namespace.
#include <cstdint>

#include "mtnlg/backend.hpp"

namespace mtnlg::ops {

struct GemmArgs;
struct FillArgs;
struct CopyArgs;
struct CastArgs;
struct AxpyArgs;
struct ScaleArgs;
struct BinaryArgs;
struct BiasAddArgs;
struct ColumnSumArgs;
struct SquaredNormArgs;
struct GeluArgs;
struct GeluBackwardArgs;
struct EmbeddingArgs;
struct EmbeddingBackwardArgs;
struct LayerNormArgs;
struct LayerNormBackwardArgs;
struct CausalSoftmaxArgs;
struct CausalSoftmaxBackwardArgs;
struct FlashAttentionArgs;
struct FlashAttentionBackwardArgs;
struct CrossEntropyArgs;
struct CrossEntropyBackwardArgs;
struct RowMaxArgs;
struct CrossEntropyPartialArgs;
struct CrossEntropyFromPartsArgs;
struct CrossEntropyPartialBackwardArgs;
struct DropoutArgs;  // dropout, dropout_backward
struct AdamWArgs;

// Every operand defined, on `device`, of the op's dtype; shapes, layouts and aliasing as ops.hpp states.
MTNLG_SDK_API void check_args(const char* op, const GemmArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const FillArgs& args, Device device);  // integer fills exact
MTNLG_SDK_API void check_args(const char* op, const CopyArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CastArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const AxpyArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const ScaleArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const BinaryArgs& args, Device device);  // add, mul
MTNLG_SDK_API void check_args(const char* op, const BiasAddArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const ColumnSumArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const SquaredNormArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const GeluArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const GeluBackwardArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const EmbeddingArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const EmbeddingBackwardArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const LayerNormArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const LayerNormBackwardArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CausalSoftmaxArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CausalSoftmaxBackwardArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const FlashAttentionArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const FlashAttentionBackwardArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CrossEntropyArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CrossEntropyBackwardArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const RowMaxArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CrossEntropyPartialArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CrossEntropyFromPartsArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const CrossEntropyPartialBackwardArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const DropoutArgs& args, Device device);
MTNLG_SDK_API void check_args(const char* op, const AdamWArgs& args, Device device);

// gemm's problem size: `batch` products of (m, k) · (k, n); batch is 1 for 2-D operands. Valid after
// check_args.
struct GemmDims {
  std::int64_t batch = 1, m = 0, n = 0, k = 0;
};
MTNLG_SDK_API GemmDims gemm_dims(const GemmArgs& args);

}  // namespace mtnlg::ops
