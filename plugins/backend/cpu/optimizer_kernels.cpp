// AdamW (decoupled weight decay, Loshchilov & Hutter 2019), exactly as ops.hpp writes it. Elementwise, so
// any partition gives the same bits; each element's update is computed in double and rounded once. f32 and
// f64 only: mixed precision keeps its master weights and Adam state in f32.
#include <cmath>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

template <class T>
void adamw_typed(const ops::AdamWArgs& args, ThreadPool& pool) {
  T* param = args.param.data_as<T>();      // (n)
  const T* grad = args.grad.data_as<T>();  // (n)
  T* m = args.m.data_as<T>();              // (n)
  T* v = args.v.data_as<T>();              // (n)
  const double beta1 = args.beta1, beta2 = args.beta2, lr = args.lr, eps = args.eps, wd = args.weight_decay;
  const auto step = static_cast<double>(args.step);
  // Bias corrections: m and v start at 0, so early averages are scaled down by 1 − β^step.
  const double correction1 = 1.0 - std::pow(beta1, step), correction2 = 1.0 - std::pow(beta2, step);
  pool.parallel_for(args.param.numel(), kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const double g = static_cast<double>(grad[i]), p = static_cast<double>(param[i]);
      const double mi = beta1 * static_cast<double>(m[i]) + (1.0 - beta1) * g;
      const double vi = beta2 * static_cast<double>(v[i]) + (1.0 - beta2) * g * g;
      const double m_hat = mi / correction1, v_hat = vi / correction2;
      m[i] = static_cast<T>(mi);
      v[i] = static_cast<T>(vi);
      param[i] = static_cast<T>(p - lr * (m_hat / (std::sqrt(v_hat) + eps) + wd * p));
    }
  });
}

void adamw_kernel(const ops::AdamWArgs& args, ExecContext& ctx) {
  visit_f32_f64("adamw", args.dtype(), [&](auto tag) { adamw_typed<decltype(tag)>(args, pool_of(ctx)); });
}

}  // namespace

void register_optimizer_kernels(OpTable& table) {
  register_op<ops::adamw, &adamw_kernel>(table, {DType::f32, DType::f64});
}

}  // namespace mtnlg::cpu
