// Cross-entropy of logits (N, V) against target tokens, over the first valid_cols columns (the rest is
// vocabulary padding and counts as −∞). Rows are independent and each is owned by one task, so any partition
// gives the same bits. The log-sum-exp subtracts the row's maximum first, so exp() cannot overflow, and sums
// in double. The backward pass may run in place (dlogits = logits): a row's max and sum are taken before its
// first gradient is written, and each gradient element overwrites the logit it was computed from.
//
// The vocabulary-parallel pieces (row_max, cross_entropy_partial, cross_entropy_from_parts,
// cross_entropy_partial_backward) compute the same expressions on a slice of the columns, with the global row
// max and sum of exponentials passed in: with one slice they give cross_entropy's losses and
// cross_entropy_backward's gradients (in f64 the same bits; otherwise the sum of exponentials is rounded to
// the statistics' dtype between the ops, which for 16-bit statistics costs most of its digits: give 16-bit
// logits f32 statistics, as ops.hpp says).
//
// Kernels are templates on T, the logits' element type, and S, the per-row statistics' (losses, row_max,
// sum_exp, target_logit): T itself, or float for 16-bit logits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

// The target of row `row`, which must lie in [0, valid_cols): a token outside the vocabulary is a data error
// the argument checks cannot see, so it is reported here with its row and value.
std::int64_t target_of(const char* op, const Tensor& targets, std::int64_t row, std::int64_t valid_cols,
                       const Tensor& logits) {
  const std::int64_t t = targets.data_as<std::int32_t>()[row];
  MTNLG_CHECK(
      t >= 0 && t < valid_cols,
      str(op, ": targets[", row, "] = ", t, " is outside [0, valid_cols) = [0, ", valid_cols, ") for logits ",
          logits.describe(),
          "; the target tokens do not match the model's vocabulary (check the tokenizer and the data)"));
  return t;
}

// Calls f(T{}, S{}) for the logits' element type T and the statistics' type S (see above); Backend::run has
// checked the pair with ops::cross_entropy_stats_dtype_ok.
template <class F>
void visit_loss_types(const char* op, DType logits, DType stats, F&& f) {
  visit_floating(op, logits, [&](auto tag) {
    using T = decltype(tag);
    if (stats == logits) return f(tag, tag);
    if constexpr (sizeof(T) == 2) {
      if (stats == DType::f32) return f(tag, float{});
    }
    fail(str(op, ": no CPU kernel for ", dtype_name(logits), " logits with ", dtype_name(stats),
             " statistics"));
  });
}

template <class T>
double row_max(const T* x, std::int64_t n) {
  double max = -std::numeric_limits<double>::infinity();
  for (std::int64_t j = 0; j < n; ++j) max = std::max(max, load_double(x[j]));
  return max;
}

template <class T, class S>
void cross_entropy_typed(const ops::CrossEntropyArgs& args, ThreadPool& pool) {
  const T* logits = args.logits.data_as<T>();  // (N, V)
  S* losses = args.losses.data_as<S>();        // (N)
  const std::int64_t v = args.logits.dim(1), valid = args.valid_cols;
  pool.parallel_for(args.logits.dim(0), row_grain(v), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t t = target_of("cross_entropy", args.targets, r, valid, args.logits);
      const T* x = logits + r * v;
      const double max = row_max(x, valid);
      double sum = 0.0;
      for (std::int64_t j = 0; j < valid; ++j) sum += std::exp(load_double(x[j]) - max);
      losses[r] = store<S>(std::log(sum) + max - load_double(x[t]));
    }
  });
}

void cross_entropy_kernel(const ops::CrossEntropyArgs& args, ExecContext& ctx) {
  visit_loss_types("cross_entropy", args.dtype(), args.losses.dtype(), [&](auto t, auto s) {
    cross_entropy_typed<decltype(t), decltype(s)>(args, pool_of(ctx));
  });
}

template <class T>
void cross_entropy_backward_typed(const ops::CrossEntropyBackwardArgs& args, ThreadPool& pool) {
  const T* logits = args.logits.data_as<T>();  // (N, V)
  T* dlogits = args.dlogits.data_as<T>();      // (N, V)
  const std::int64_t v = args.logits.dim(1), valid = args.valid_cols;
  const double weight = args.weight;
  pool.parallel_for(args.logits.dim(0), row_grain(v), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<double> e(static_cast<std::size_t>(valid));  // (valid_cols), one row's exponentials
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t t = target_of("cross_entropy_backward", args.targets, r, valid, args.logits);
      const T* x = logits + r * v;
      T* dx = dlogits + r * v;
      const double max = row_max(x, valid);
      double sum = 0.0;
      for (std::int64_t j = 0; j < valid; ++j) {
        e[j] = std::exp(load_double(x[j]) - max);
        sum += e[j];
      }
      for (std::int64_t j = 0; j < valid; ++j) {
        const double p = e[j] / sum;
        dx[j] = store<T>(weight * (j == t ? p - 1.0 : p));
      }
      std::fill(dx + valid, dx + v, T{});
    }
  });
}

void cross_entropy_backward_kernel(const ops::CrossEntropyBackwardArgs& args, ExecContext& ctx) {
  visit_floating("cross_entropy_backward", args.dtype(),
                 [&](auto tag) { cross_entropy_backward_typed<decltype(tag)>(args, pool_of(ctx)); });
}

// out[i] = max of row i's first valid_cols entries (−∞ for none): exact in any dtype.
template <class T, class S>
void row_max_typed(const ops::RowMaxArgs& args, ThreadPool& pool) {
  const T* x = args.x.data_as<T>();  // (N, V)
  S* out = args.out.data_as<S>();    // (N)
  const std::int64_t v = args.x.dim(1), valid = args.valid_cols;
  pool.parallel_for(args.x.dim(0), row_grain(v), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) out[r] = store<S>(row_max(x + r * v, valid));
  });
}

void row_max_kernel(const ops::RowMaxArgs& args, ExecContext& ctx) {
  visit_loss_types("row_max", args.dtype(), args.out.dtype(),
                   [&](auto t, auto s) { row_max_typed<decltype(t), decltype(s)>(args, pool_of(ctx)); });
}

// The target of row `row` in a slice's local columns, or -1 when another slice holds it. A negative target,
// or one at or beyond vocab_size when that is given, is a data error.
std::int64_t local_target_of(const char* op, const Tensor& targets, std::int64_t row, std::int64_t col_offset,
                             std::int64_t valid_cols, std::int64_t vocab_size, const Tensor& logits) {
  const std::int64_t t = targets.data_as<std::int32_t>()[row];
  MTNLG_CHECK(t >= 0, str(op, ": targets[", row, "] = ", t, " is negative (logits ", logits.describe(),
                          "); the target tokens do not match the model's vocabulary (check the tokenizer and "
                          "the data)"));
  MTNLG_CHECK(
      vocab_size == 0 || t < vocab_size,
      str(op, ": targets[", row, "] = ", t, " is outside the vocabulary [0, ", vocab_size, ") (logits ",
          logits.describe(), "); the target tokens do not match the model's vocabulary (check the ",
          "tokenizer and the data)"));
  const std::int64_t local = t - col_offset;
  return local >= 0 && local < valid_cols ? local : -1;
}

template <class T, class S>
void cross_entropy_partial_typed(const ops::CrossEntropyPartialArgs& args, ThreadPool& pool) {
  const T* logits = args.logits.data_as<T>();        // (N, Vl)
  const S* row_maxes = args.row_max.data_as<S>();    // (N)
  S* sum_exp = args.sum_exp.data_as<S>();            // (N)
  S* target_logit = args.target_logit.data_as<S>();  // (N)
  const std::int64_t v = args.logits.dim(1), valid = args.valid_cols;
  pool.parallel_for(args.logits.dim(0), row_grain(v), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t t = local_target_of("cross_entropy_partial", args.targets, r, args.col_offset, valid,
                                             args.vocab_size, args.logits);
      const T* x = logits + r * v;
      const double max = load_double(row_maxes[r]);
      double sum = 0.0;
      for (std::int64_t j = 0; j < valid; ++j) sum += std::exp(load_double(x[j]) - max);
      sum_exp[r] = store<S>(sum);
      target_logit[r] = store<S>(t >= 0 ? load_double(x[t]) : 0.0);  // exact: S holds every T
    }
  });
}

void cross_entropy_partial_kernel(const ops::CrossEntropyPartialArgs& args, ExecContext& ctx) {
  visit_loss_types("cross_entropy_partial", args.dtype(), args.sum_exp.dtype(), [&](auto t, auto s) {
    cross_entropy_partial_typed<decltype(t), decltype(s)>(args, pool_of(ctx));
  });
}

template <class T>
void cross_entropy_from_parts_typed(const ops::CrossEntropyFromPartsArgs& args, ThreadPool& pool) {
  const T* max = args.row_max.data_as<T>();          // (N)
  const T* sum = args.sum_exp.data_as<T>();          // (N)
  const T* target = args.target_logit.data_as<T>();  // (N)
  T* losses = args.losses.data_as<T>();              // (N), may be any of the inputs
  pool.parallel_for(args.losses.numel(), kElementwiseGrain, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i)
      losses[i] = store<T>(std::log(load_double(sum[i])) + load_double(max[i]) - load_double(target[i]));
  });
}

void cross_entropy_from_parts_kernel(const ops::CrossEntropyFromPartsArgs& args, ExecContext& ctx) {
  visit_floating("cross_entropy_from_parts", args.dtype(),
                 [&](auto tag) { cross_entropy_from_parts_typed<decltype(tag)>(args, pool_of(ctx)); });
}

template <class T, class S>
void cross_entropy_partial_backward_typed(const ops::CrossEntropyPartialBackwardArgs& args,
                                          ThreadPool& pool) {
  const T* logits = args.logits.data_as<T>();      // (N, Vl)
  const S* row_maxes = args.row_max.data_as<S>();  // (N)
  const S* sum_exp = args.sum_exp.data_as<S>();    // (N)
  T* dlogits = args.dlogits.data_as<T>();          // (N, Vl), may be logits
  const std::int64_t v = args.logits.dim(1), valid = args.valid_cols;
  const double weight = args.weight;
  pool.parallel_for(args.logits.dim(0), row_grain(v), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t t = local_target_of("cross_entropy_partial_backward", args.targets, r,
                                             args.col_offset, valid, args.vocab_size, args.logits);
      const T* x = logits + r * v;
      T* dx = dlogits + r * v;
      const double max = load_double(row_maxes[r]), sum = load_double(sum_exp[r]);
      // Element j is read before it is overwritten, so dlogits may be logits.
      for (std::int64_t j = 0; j < valid; ++j) {
        const double p = std::exp(load_double(x[j]) - max) / sum;
        dx[j] = store<T>(weight * (j == t ? p - 1.0 : p));
      }
      std::fill(dx + valid, dx + v, T{});
    }
  });
}

void cross_entropy_partial_backward_kernel(const ops::CrossEntropyPartialBackwardArgs& args,
                                           ExecContext& ctx) {
  visit_loss_types("cross_entropy_partial_backward", args.dtype(), args.sum_exp.dtype(), [&](auto t, auto s) {
    cross_entropy_partial_backward_typed<decltype(t), decltype(s)>(args, pool_of(ctx));
  });
}

}  // namespace

void register_loss_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::cross_entropy, &cross_entropy_kernel>(table, floating);
  register_op<ops::cross_entropy_backward, &cross_entropy_backward_kernel>(table, floating);
  register_op<ops::row_max, &row_max_kernel>(table, floating);
  register_op<ops::cross_entropy_partial, &cross_entropy_partial_kernel>(table, floating);
  register_op<ops::cross_entropy_from_parts, &cross_entropy_from_parts_kernel>(table, floating);
  register_op<ops::cross_entropy_partial_backward, &cross_entropy_partial_backward_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
