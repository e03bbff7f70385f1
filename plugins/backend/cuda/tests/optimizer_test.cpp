// adamw against the CPU backend in f64, in every floating dtype: param, m and v after one step, early (step
// 1) and later (step 10, smaller bias corrections), with and without weight decay, on odd sizes and on views
// that are not 16-byte aligned.
#include <cstdint>
#include <vector>

#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

class OptimizerConformance : public Conformance, public ::testing::WithParamInterface<DType> {
 protected:
  // n elements uniform in [lo, hi), `offset` elements into their buffer (1: not 16-byte aligned).
  Pair values_at(std::int64_t n, std::int64_t offset, double lo, double hi) {
    const Pair whole = random({n + offset}, GetParam(), lo, hi);
    return {std::vector<double>(whole.values.begin() + offset, whole.values.end()),
            whole.gpu.sub_buffer(offset, {n}), whole.cpu.sub_buffer(offset, {n})};
  }
};

TEST_P(OptimizerConformance, AdamWStep) {
  const DType dt = GetParam();
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{7}, std::int64_t{1000003}})
    for (std::int64_t offset : {0, 1})
      for (std::int64_t step : {1, 10})
        for (double weight_decay : {0.0, 0.1}) {
          Pair param = values_at(n, offset, -1.0, 1.0), m = values_at(n, offset, -0.1, 0.1);
          Pair v = values_at(n, offset, 0.0, 0.01);  // a second moment: never negative
          const Pair grad = values_at(n, offset, -1.0, 1.0);
          auto args = [&](const Tensor& p, const Tensor& g, const Tensor& mt, const Tensor& vt) {
            ops::AdamWArgs a{p, g, mt, vt};
            a.lr = 1e-2;
            a.beta1 = 0.9;
            a.beta2 = 0.95;
            a.eps = 1e-8;
            a.weight_decay = weight_decay;
            a.step = step;
            return a;
          };
          gpu().run(ops::adamw, args(param.gpu, grad.gpu, m.gpu, v.gpu));
          cpu().run(ops::adamw, args(param.cpu, grad.cpu, m.cpu, v.cpu));
          const std::string what =
              str("adamw n=", n, " offset=", offset, " step=", step, " weight_decay=", weight_decay);
          expect_close(param, dt, what + ": param");
          expect_close(m, dt, what + ": m");
          expect_close(v, dt, what + ": v");
        }
}

INSTANTIATE_TEST_SUITE_P(Floating, OptimizerConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

}  // namespace
}  // namespace mtnlg::cuda::test
