// Inverted dropout from Philox (mtnlg/rng.hpp). Element (b, m) of x viewed as (B, M) is kept when the draw at
// counter {m', m' >> 32, s, s >> 32} (m' = m + element_offset, s = first_sample + b) is above p: the decision
// depends only on (key, sample, element), so any partition, any tensor-parallel slice and the backward pass's
// recomputation see the same mask, and no mask is stored. Elementwise, so any partition gives the same bits;
// in place (out = x) is safe.
#include <cstdint>

#include "mtnlg/ops.hpp"
#include "mtnlg/rng.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

// out = x ⊙ mask / (1 − p): the forward pass on x, and the backward pass on dy (same mask, same scale).
template <class T>
void dropout_typed(const ops::DropoutArgs& args, ThreadPool& pool) {
  const T* x = args.x.data_as<T>();  // (B, M)
  T* out = args.out.data_as<T>();    // (B, M)
  const std::int64_t n = args.x.numel();
  if (n == 0) return;
  const std::int64_t m_len = n / args.x.dim(0);
  const rng::Key key{args.key[0], args.key[1]};
  const double p = args.p, scale = 1.0 / (1.0 - p);
  const auto first_sample = static_cast<std::uint64_t>(args.first_sample);
  const auto element_offset = static_cast<std::uint64_t>(args.element_offset);
  pool.parallel_for(n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    // (sample, element) of `begin`, then stepped along the row: no division per element.
    std::int64_t b = begin / m_len, m = begin % m_len;
    for (std::int64_t i = begin; i < end; ++i) {
      const std::uint64_t element = element_offset + static_cast<std::uint64_t>(m);
      const std::uint64_t sample = first_sample + static_cast<std::uint64_t>(b);
      const rng::Counter r =
          rng::philox4x32_10({static_cast<std::uint32_t>(element), static_cast<std::uint32_t>(element >> 32),
                              static_cast<std::uint32_t>(sample), static_cast<std::uint32_t>(sample >> 32)},
                             key);
      out[i] = rng::to_unit(r[0], r[1]) > p ? store<T>(load_double(x[i]) * scale) : T{};
      if (++m == m_len) {
        m = 0;
        ++b;
      }
    }
  });
}

void dropout_kernel(const ops::DropoutArgs& args, ExecContext& ctx) {
  visit_floating("dropout", args.dtype(),
                 [&](auto tag) { dropout_typed<decltype(tag)>(args, pool_of(ctx)); });
}

void dropout_backward_kernel(const ops::DropoutArgs& args, ExecContext& ctx) {
  visit_floating("dropout_backward", args.dtype(),
                 [&](auto tag) { dropout_typed<decltype(tag)>(args, pool_of(ctx)); });
}

}  // namespace

void register_dropout_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::dropout, &dropout_kernel>(table, floating);
  register_op<ops::dropout_backward, &dropout_backward_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
