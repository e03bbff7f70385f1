// LayerNorm over the last dimension. The forward pass and dx are row-local (one task owns whole rows, so any
// partition gives the same bits); dgamma and dbeta are sums over rows, split into RowBlocks whose partial
// sums are combined in block order. Statistics and sums are taken in double for every floating dtype, and
// each output is rounded once to its dtype (mean and rstd too: they have the op's dtype).
#include <algorithm>
#include <cmath>
#include <vector>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

template <class T>
void layernorm_typed(const ops::LayerNormArgs& args, ThreadPool& pool) {
  const T* x = args.x.data_as<T>();          // (N, C)
  const T* gamma = args.gamma.data_as<T>();  // (C)
  const T* beta = args.beta.data_as<T>();    // (C)
  T* out = args.out.data_as<T>();            // (N, C)
  T* mean_out = args.mean.data_as<T>();      // (N)
  T* rstd_out = args.rstd.data_as<T>();      // (N)
  const std::int64_t c = args.x.dim(1);
  pool.parallel_for(args.x.dim(0), row_grain(c), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * c;
      // Two passes: the variance as the mean of squared deviations does not cancel like E[x²] − E[x]².
      double sum = 0.0;
      for (std::int64_t j = 0; j < c; ++j) sum += load_double(xr[j]);
      const double mean = sum / static_cast<double>(c);
      double squares = 0.0;
      for (std::int64_t j = 0; j < c; ++j) {
        const double d = load_double(xr[j]) - mean;
        squares += d * d;
      }
      const double rstd = 1.0 / std::sqrt(squares / static_cast<double>(c) + args.eps);
      T* outr = out + r * c;
      for (std::int64_t j = 0; j < c; ++j)
        outr[j] = store<T>((load_double(xr[j]) - mean) * rstd * load_double(gamma[j]) + load_double(beta[j]));
      mean_out[r] = store<T>(mean);
      rstd_out[r] = store<T>(rstd);
    }
  });
}

void layernorm_kernel(const ops::LayerNormArgs& args, ExecContext& ctx) {
  visit_floating("layernorm", args.dtype(),
                 [&](auto tag) { layernorm_typed<decltype(tag)>(args, pool_of(ctx)); });
}

// With x̂ = (x − mean)·rstd and g = dy·gamma, per row:
//   dx = rstd · (g − mean_j(g) − x̂ · mean_j(g·x̂)),
// and over rows: dgamma += Σ dy·x̂, dbeta += Σ dy.
template <class T>
void layernorm_backward_typed(const ops::LayerNormBackwardArgs& args, ThreadPool& pool) {
  const T* dy = args.dy.data_as<T>();        // (N, C)
  const T* x = args.x.data_as<T>();          // (N, C)
  const T* gamma = args.gamma.data_as<T>();  // (C)
  const T* mean = args.mean.data_as<T>();    // (N)
  const T* rstd = args.rstd.data_as<T>();    // (N)
  T* dx = args.dx.data_as<T>();              // (N, C)
  T* dgamma = args.dgamma.data_as<T>();      // (C)
  T* dbeta = args.dbeta.data_as<T>();        // (C)
  const std::int64_t rows = args.x.dim(0), c = args.x.dim(1);
  const RowBlocks blocks(rows);
  // Per block: Σ dy·x̂ then Σ dy over the block's rows.
  std::vector<double> partial(static_cast<std::size_t>(blocks.count * 2 * c), 0.0);  // (blocks, 2, C)

  pool.parallel_for(blocks.count, 1, [&](std::int64_t b0, std::int64_t b1) {
    std::vector<double> xhat(static_cast<std::size_t>(c));  // (C), one row
    for (std::int64_t block = b0; block < b1; ++block) {
      double* dgamma_acc = partial.data() + block * 2 * c;
      double* dbeta_acc = dgamma_acc + c;
      const std::int64_t r_end = std::min(rows, (block + 1) * blocks.rows_per_block);
      for (std::int64_t r = block * blocks.rows_per_block; r < r_end; ++r) {
        const T* xr = x + r * c;
        const T* dyr = dy + r * c;
        const double m = load_double(mean[r]), s = load_double(rstd[r]);
        double g_sum = 0.0, gx_sum = 0.0;
        for (std::int64_t j = 0; j < c; ++j) {
          xhat[j] = (load_double(xr[j]) - m) * s;
          const double d = load_double(dyr[j]);
          const double g = d * load_double(gamma[j]);
          g_sum += g;
          gx_sum += g * xhat[j];
          dgamma_acc[j] += d * xhat[j];
          dbeta_acc[j] += d;
        }
        const double g_mean = g_sum / static_cast<double>(c), gx_mean = gx_sum / static_cast<double>(c);
        T* dxr = dx + r * c;
        for (std::int64_t j = 0; j < c; ++j) {
          const double g = load_double(dyr[j]) * load_double(gamma[j]);
          dxr[j] = store<T>(s * (g - g_mean - xhat[j] * gx_mean));
        }
      }
    }
  });
  pool.parallel_for(c, kElementwiseGrain / kMaxRowBlocks, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t j = c0; j < c1; ++j) {
      double dgamma_sum = 0.0, dbeta_sum = 0.0;
      for (std::int64_t block = 0; block < blocks.count; ++block) {
        dgamma_sum += partial[static_cast<std::size_t>(block * 2 * c + j)];
        dbeta_sum += partial[static_cast<std::size_t>(block * 2 * c + c + j)];
      }
      dgamma[j] = store<T>(load_double(dgamma[j]) + dgamma_sum);
      dbeta[j] = store<T>(load_double(dbeta[j]) + dbeta_sum);
    }
  });
}

void layernorm_backward_kernel(const ops::LayerNormBackwardArgs& args, ExecContext& ctx) {
  visit_floating("layernorm_backward", args.dtype(),
                 [&](auto tag) { layernorm_backward_typed<decltype(tag)>(args, pool_of(ctx)); });
}

}  // namespace

void register_normalization_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::layernorm, &layernorm_kernel>(table, floating);
  register_op<ops::layernorm_backward, &layernorm_backward_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
