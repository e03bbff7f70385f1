// Causal softmax over attention scores (BH, T, T), viewed as BH·T rows of length T: row r is query
// i = r mod T, which sees keys j ≤ i. Rows are independent and each is owned by one task, so any partition
// gives the same bits; sums are taken in double. In place (probs = scores, dscores = dprobs) is safe: a row's
// inputs are all read before its first output is written.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

template <class T>
void causal_softmax_typed(const ops::CausalSoftmaxArgs& args, ThreadPool& pool) {
  const T* scores = args.scores.data_as<T>();  // (BH, T, T)
  T* probs = args.probs.data_as<T>();          // (BH, T, T)
  const std::int64_t t_len = args.scores.dim(2), rows = args.scores.dim(0) * t_len;
  const double scale = args.scale;
  pool.parallel_for(rows, row_grain(t_len), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<double> e(static_cast<std::size_t>(t_len));  // (T), one row's exponentials
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* s = scores + r * t_len;
      T* p = probs + r * t_len;
      const std::int64_t visible = r % t_len + 1;  // keys 0 .. i
      // Subtracting the row's maximum keeps exp() from overflowing.
      double max = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < visible; ++j) max = std::max(max, scale * load_double(s[j]));
      double sum = 0.0;
      for (std::int64_t j = 0; j < visible; ++j) {
        e[j] = std::exp(scale * load_double(s[j]) - max);
        sum += e[j];
      }
      for (std::int64_t j = 0; j < visible; ++j) p[j] = store<T>(e[j] / sum);
      std::fill(p + visible, p + t_len, T{});
    }
  });
}

void causal_softmax_kernel(const ops::CausalSoftmaxArgs& args, ExecContext& ctx) {
  visit_floating("causal_softmax", args.dtype(),
                 [&](auto tag) { causal_softmax_typed<decltype(tag)>(args, pool_of(ctx)); });
}

// dscores[j] = scale · p[j] · (dp[j] − Σ_{k ≤ i} dp[k]·p[k]) for j ≤ i, 0 above the diagonal (where p is 0
// and dp may be anything).
template <class T>
void causal_softmax_backward_typed(const ops::CausalSoftmaxBackwardArgs& args, ThreadPool& pool) {
  const T* probs = args.probs.data_as<T>();    // (BH, T, T)
  const T* dprobs = args.dprobs.data_as<T>();  // (BH, T, T)
  T* dscores = args.dscores.data_as<T>();      // (BH, T, T)
  const std::int64_t t_len = args.probs.dim(2), rows = args.probs.dim(0) * t_len;
  const double scale = args.scale;
  pool.parallel_for(rows, row_grain(t_len), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* p = probs + r * t_len;
      const T* dp = dprobs + r * t_len;
      T* ds = dscores + r * t_len;
      const std::int64_t visible = r % t_len + 1;
      double dot = 0.0;
      for (std::int64_t j = 0; j < visible; ++j) dot += load_double(dp[j]) * load_double(p[j]);
      for (std::int64_t j = 0; j < visible; ++j)
        ds[j] = store<T>(scale * load_double(p[j]) * (load_double(dp[j]) - dot));
      std::fill(ds + visible, ds + t_len, T{});
    }
  });
}

void causal_softmax_backward_kernel(const ops::CausalSoftmaxBackwardArgs& args, ExecContext& ctx) {
  visit_floating("causal_softmax_backward", args.dtype(),
                 [&](auto tag) { causal_softmax_backward_typed<decltype(tag)>(args, pool_of(ctx)); });
}

}  // namespace

void register_attention_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::causal_softmax, &causal_softmax_kernel>(table, floating);
  register_op<ops::causal_softmax_backward, &causal_softmax_backward_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
