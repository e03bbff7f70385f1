// flash_attention and its backward: the reference the GPU's tiled kernels are checked against, so computed
// exactly rather than tiled: each query row's scores are formed in double, reduced with the row maximum
// subtracted, and rounded once. Only one row of the (T, T) matrices exists at a time. Every output row is
// owned by one task and summed in a fixed order (out, lse and dq over keys j ≤ i ascending; dk and dv over
// queries i ≥ j ascending), so any partition gives the same bits. lse is in the compute type, which is
// ops::flash_attention_lse_dtype: f64 for f64 operands, f32 for f32, bf16 and f16 ones.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <vector>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

template <class T>
double dot(const T* a, const T* b, std::int64_t d) {
  // Four partial sums (element c into sum c mod 4, combined pairwise at the end): one running sum would make
  // every addition wait for the previous one, and this is the kernels' innermost loop. The order is fixed,
  // so the result still depends on nothing but the operands.
  double sums[4] = {0.0, 0.0, 0.0, 0.0};
  std::int64_t c = 0;
  for (; c + 4 <= d; c += 4)
    for (int lane = 0; lane < 4; ++lane) sums[lane] += load_double(a[c + lane]) * load_double(b[c + lane]);
  for (; c < d; ++c) sums[c % 4] += load_double(a[c]) * load_double(b[c]);
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

// The inputs as the loops read them: f32 and f64 tensors in place; bf16 and f16 ones widened to f32 once per
// call (exact, so the same results). The loops read each key row once per later query: widening it there
// every time made the 16-bit kernels 2-5× slower than the f32 one.
template <class T>
class Inputs {
 public:
  const compute_t<T>* operator()(const Tensor& t, ThreadPool& pool) {
    if constexpr (std::is_same_v<T, compute_t<T>>) {
      return t.data_as<T>();
    } else {
      const T* src = t.data_as<T>();
      std::vector<float>& wide = copies_.emplace_back(static_cast<std::size_t>(t.numel()));
      float* dst = wide.data();
      pool.parallel_for(t.numel(), kElementwiseGrain, [=](std::int64_t i0, std::int64_t i1) {
        for (std::int64_t i = i0; i < i1; ++i) dst[i] = load(src[i]);
      });
      return dst;
    }
  }

 private:
  std::deque<std::vector<float>> copies_;
};

// Row r = bh·T + i of (BH, T, ·) is query i of head bh; its head's key 0 is row r − i.
template <class T>
void flash_attention_typed(const ops::FlashAttentionArgs& args, ThreadPool& pool) {
  Inputs<T> input;
  const compute_t<T>* q = input(args.q, pool);           // (BH, T, d)
  const compute_t<T>* k = input(args.k, pool);           // (BH, T, d)
  const compute_t<T>* v = input(args.v, pool);           // (BH, T, d)
  T* out = args.out.data_as<T>();                        // (BH, T, d)
  compute_t<T>* lse = args.lse.data_as<compute_t<T>>();  // (BH, T)
  const std::int64_t t_len = args.q.dim(1), d = args.q.dim(2), rows = args.q.dim(0) * t_len;
  const double scale = args.scale;
  pool.parallel_for(rows, row_grain(t_len * d), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<double> s(static_cast<std::size_t>(t_len));  // (T), one row's scores, then exponentials
    std::vector<double> acc(static_cast<std::size_t>(d));    // (d)
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t i = r % t_len, key0 = r - i;
      // Subtracting the row's maximum keeps exp() from overflowing.
      double max = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j <= i; ++j) {
        s[j] = scale * dot(q + r * d, k + (key0 + j) * d, d);
        max = std::max(max, s[j]);
      }
      double sum = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::int64_t j = 0; j <= i; ++j) {
        const double e = std::exp(s[j] - max);
        sum += e;
        const compute_t<T>* vj = v + (key0 + j) * d;
        for (std::int64_t c = 0; c < d; ++c) acc[c] += e * load_double(vj[c]);
      }
      for (std::int64_t c = 0; c < d; ++c) out[r * d + c] = store<T>(acc[c] / sum);
      lse[r] = static_cast<compute_t<T>>(max + std::log(sum));
    }
  });
}

void flash_attention_kernel(const ops::FlashAttentionArgs& args, ExecContext& ctx) {
  visit_floating("flash_attention", args.dtype(),
                 [&](auto tag) { flash_attention_typed<decltype(tag)>(args, pool_of(ctx)); });
}

template <class T>
void flash_attention_backward_typed(const ops::FlashAttentionBackwardArgs& args, ThreadPool& pool) {
  Inputs<T> input;
  const compute_t<T>* q = input(args.q, pool);                 // (BH, T, d)
  const compute_t<T>* k = input(args.k, pool);                 // (BH, T, d)
  const compute_t<T>* v = input(args.v, pool);                 // (BH, T, d)
  const compute_t<T>* out = input(args.out, pool);             // (BH, T, d)
  const compute_t<T>* lse = args.lse.data_as<compute_t<T>>();  // (BH, T)
  const compute_t<T>* dout = input(args.dout, pool);           // (BH, T, d)
  T* dq = args.dq.data_as<T>();                                // (BH, T, d)
  T* dk = args.dk.data_as<T>();                                // (BH, T, d)
  T* dv = args.dv.data_as<T>();                                // (BH, T, d)
  const std::int64_t t_len = args.q.dim(1), d = args.q.dim(2), rows = args.q.dim(0) * t_len;
  const double scale = args.scale;

  // delta[r] = D_r = dout_r·out_r = Σ_j P_rj·(dout_r·v_j): the softmax backward's row term.
  std::vector<double> delta(static_cast<std::size_t>(rows));  // (BH·T)
  pool.parallel_for(rows, row_grain(d), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) delta[r] = dot(dout + r * d, out + r * d, d);
  });
  // P and dS of query row qr and key row kr (same head), recomputed from lse: nothing (T, T) is stored.
  const auto p_ds = [&](std::int64_t qr, std::int64_t kr, double& p, double& ds) {
    p = std::exp(scale * dot(q + qr * d, k + kr * d, d) - load_double(lse[qr]));
    ds = p * (dot(dout + qr * d, v + kr * d, d) - delta[qr]);
  };

  // dq_i = scale·Σ_{j ≤ i} dS_ij·k_j: one task per query row.
  pool.parallel_for(rows, row_grain(t_len * d), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<double> acc(static_cast<std::size_t>(d));  // (d)
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t i = r % t_len, key0 = r - i;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::int64_t j = 0; j <= i; ++j) {
        double p, ds;
        p_ds(r, key0 + j, p, ds);
        const compute_t<T>* kj = k + (key0 + j) * d;
        for (std::int64_t c = 0; c < d; ++c) acc[c] += ds * load_double(kj[c]);
      }
      for (std::int64_t c = 0; c < d; ++c) dq[r * d + c] = store<T>(scale * acc[c]);
    }
  });

  // dv_j = Σ_{i ≥ j} P_ij·dout_i and dk_j = scale·Σ_{i ≥ j} dS_ij·q_i: one task per key row.
  pool.parallel_for(rows, row_grain(t_len * d), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<double> dk_acc(static_cast<std::size_t>(d)), dv_acc(static_cast<std::size_t>(d));  // (d)
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t j = r % t_len, query0 = r - j;
      std::fill(dk_acc.begin(), dk_acc.end(), 0.0);
      std::fill(dv_acc.begin(), dv_acc.end(), 0.0);
      for (std::int64_t i = j; i < t_len; ++i) {
        double p, ds;
        p_ds(query0 + i, r, p, ds);
        const compute_t<T>* qi = q + (query0 + i) * d;
        const compute_t<T>* douti = dout + (query0 + i) * d;
        for (std::int64_t c = 0; c < d; ++c) {
          dv_acc[c] += p * load_double(douti[c]);
          dk_acc[c] += ds * load_double(qi[c]);
        }
      }
      for (std::int64_t c = 0; c < d; ++c) {
        dk[r * d + c] = store<T>(scale * dk_acc[c]);
        dv[r * d + c] = store<T>(dv_acc[c]);
      }
    }
  });
}

void flash_attention_backward_kernel(const ops::FlashAttentionBackwardArgs& args, ExecContext& ctx) {
  visit_floating("flash_attention_backward", args.dtype(),
                 [&](auto tag) { flash_attention_backward_typed<decltype(tag)>(args, pool_of(ctx)); });
}

}  // namespace

void register_flash_attention_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::flash_attention, &flash_attention_kernel>(table, floating);
  register_op<ops::flash_attention_backward, &flash_attention_backward_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
