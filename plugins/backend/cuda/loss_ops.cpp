// The cross-entropy ops on CUDA: cross_entropy and cross_entropy_backward (kernels/src/cross_entropy.cu), and
// Megatron's vocabulary-parallel pieces row_max, cross_entropy_partial, cross_entropy_from_parts and
// cross_entropy_partial_backward (kernels/src/vocab_parallel_cross_entropy.cu). Targets outside the
// vocabulary are reported through the backend's error record and raised at synchronize().
#include <cstdint>

#include "mtnlg/cuda/cross_entropy.hpp"
#include "mtnlg/cuda/vocab_parallel_cross_entropy.hpp"
#include "mtnlg/ops.hpp"

#include "cuda_ops.hpp"

namespace mtnlg::cuda {
namespace {

void cross_entropy_kernel(const ops::CrossEntropyArgs& args, ExecContext& ctx) {
  kernels::launch_cross_entropy(args.dtype(), args.losses.dtype(), args.logits.data(),
                                args.targets.data_as<std::int32_t>(), args.losses.data(), args.logits.dim(0),
                                args.logits.dim(1), args.valid_cols, backend_of(ctx).error_record(),
                                stream_of(ctx));
}

void cross_entropy_backward_kernel(const ops::CrossEntropyBackwardArgs& args, ExecContext& ctx) {
  kernels::launch_cross_entropy_backward(args.dtype(), args.logits.data(),
                                         args.targets.data_as<std::int32_t>(), args.dlogits.data(),
                                         args.logits.dim(0), args.logits.dim(1), args.valid_cols, args.weight,
                                         backend_of(ctx).error_record(), stream_of(ctx));
}

void row_max_kernel(const ops::RowMaxArgs& args, ExecContext& ctx) {
  kernels::launch_row_max(args.dtype(), args.out.dtype(), args.x.data(), args.out.data(), args.x.dim(0),
                          args.x.dim(1), args.valid_cols, stream_of(ctx));
}

void cross_entropy_partial_kernel(const ops::CrossEntropyPartialArgs& args, ExecContext& ctx) {
  kernels::launch_cross_entropy_partial(args.dtype(), args.sum_exp.dtype(), args.logits.data(),
                                        args.targets.data_as<std::int32_t>(), args.row_max.data(),
                                        args.sum_exp.data(), args.target_logit.data(), args.logits.dim(0),
                                        args.logits.dim(1), args.col_offset, args.valid_cols, args.vocab_size,
                                        backend_of(ctx).error_record(), stream_of(ctx));
}

void cross_entropy_from_parts_kernel(const ops::CrossEntropyFromPartsArgs& args, ExecContext& ctx) {
  kernels::launch_cross_entropy_from_parts(args.dtype(), args.row_max.data(), args.sum_exp.data(),
                                           args.target_logit.data(), args.losses.data(), args.losses.numel(),
                                           stream_of(ctx));
}

void cross_entropy_partial_backward_kernel(const ops::CrossEntropyPartialBackwardArgs& args,
                                           ExecContext& ctx) {
  kernels::launch_cross_entropy_partial_backward(
      args.dtype(), args.sum_exp.dtype(), args.logits.data(), args.targets.data_as<std::int32_t>(),
      args.row_max.data(), args.sum_exp.data(), args.dlogits.data(), args.logits.dim(0), args.logits.dim(1),
      args.col_offset, args.valid_cols, args.weight, args.vocab_size, backend_of(ctx).error_record(),
      stream_of(ctx));
}

}  // namespace

void register_loss_ops(OpTable& table) {
  const auto dtypes = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::cross_entropy, &cross_entropy_kernel>(table, dtypes);
  register_op<ops::cross_entropy_backward, &cross_entropy_backward_kernel>(table, dtypes);
  register_op<ops::row_max, &row_max_kernel>(table, dtypes);
  register_op<ops::cross_entropy_partial, &cross_entropy_partial_kernel>(table, dtypes);
  register_op<ops::cross_entropy_from_parts, &cross_entropy_from_parts_kernel>(table, dtypes);
  register_op<ops::cross_entropy_partial_backward, &cross_entropy_partial_backward_kernel>(table, dtypes);
}

}  // namespace mtnlg::cuda
