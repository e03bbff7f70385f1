// Conformance of layernorm and layernorm_backward on odd shapes, dgamma and dbeta accumulated into existing
// values, and a bitwise reproducible backward pass.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

class LayerNormConformance : public Conformance, public ::testing::WithParamInterface<DType> {
 protected:
  // Runs `key` on both backends, with the arguments `make` builds from one side of each Pair (&Pair::gpu or
  // &Pair::cpu).
  template <class Args, class Make>
  void run_both(const OpKey<Args>& key, Make make) {
    gpu().run(key, make(&Pair::gpu));
    cpu().run(key, make(&Pair::cpu));
  }

  // The forward's per-row mean and rstd of x (rows, cols), in f64 and then stored in `dtype`: the backward
  // pass's inputs, identical on both backends.
  std::pair<Pair, Pair> statistics(const Pair& x, std::int64_t rows, std::int64_t cols, double eps,
                                   DType dtype) {
    std::vector<double> mean(static_cast<std::size_t>(rows)), rstd(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      const double* row = x.values.data() + r * cols;
      double sum = 0.0, squares = 0.0;
      for (std::int64_t j = 0; j < cols; ++j) sum += row[j];
      mean[r] = sum / static_cast<double>(cols);
      for (std::int64_t j = 0; j < cols; ++j) squares += (row[j] - mean[r]) * (row[j] - mean[r]);
      rstd[r] = 1.0 / std::sqrt(squares / static_cast<double>(cols) + eps);
    }
    return {from_values({rows}, dtype, mean), from_values({rows}, dtype, rstd)};
  }
};

struct LayerNormSize {
  std::int64_t rows, cols;
};
const LayerNormSize kSizes[] = {{1, 1}, {5, 33}, {1000, 771}, {3, 768}, {2, 4099}};

std::string describe(const LayerNormSize& s) {
  return str("N=", s.rows, " C=", s.cols);
}

TEST_P(LayerNormConformance, ForwardMatchesCpu) {
  const DType dt = GetParam();
  for (const LayerNormSize& s : kSizes) {
    // Off-centre inputs: the mean is not ~0, so a one-pass variance would cancel.
    const Pair x = random({s.rows, s.cols}, dt, -1.0, 3.0);
    const Pair gamma = random({s.cols}, dt, 0.5, 1.5), beta = random({s.cols}, dt);
    const Pair out = output({s.rows, s.cols}, dt), mean = output({s.rows}, dt), rstd = output({s.rows}, dt);
    run_both(ops::layernorm, [&](Tensor Pair::*on) {
      return ops::LayerNormArgs{x.*on, gamma.*on, beta.*on, out.*on, mean.*on, rstd.*on, 1e-5};
    });
    expect_close(out, dt, "layernorm out " + describe(s));
    expect_close(mean, dt, "layernorm mean " + describe(s));
    expect_close(rstd, dt, "layernorm rstd " + describe(s));
  }
}

TEST_P(LayerNormConformance, BackwardAccumulatesLikeCpu) {
  const DType dt = GetParam();
  for (const LayerNormSize& s : kSizes) {
    const Pair x = random({s.rows, s.cols}, dt, -1.0, 3.0);
    const std::pair<Pair, Pair> stats = statistics(x, s.rows, s.cols, 1e-5, dt);
    const Pair &mean = stats.first, &rstd = stats.second;
    const Pair dy = random({s.rows, s.cols}, dt), gamma = random({s.cols}, dt, 0.5, 1.5);
    const Pair dx = output({s.rows, s.cols}, dt);
    // dgamma and dbeta are added to what is there.
    const Pair dgamma = random({s.cols}, dt), dbeta = random({s.cols}, dt);
    run_both(ops::layernorm_backward, [&](Tensor Pair::*on) {
      return ops::LayerNormBackwardArgs{dy.*on,   x.*on,  gamma.*on,  mean.*on,
                                        rstd.*on, dx.*on, dgamma.*on, dbeta.*on};
    });
    expect_close(dx, dt, "layernorm_backward dx " + describe(s));
    expect_close(dgamma, dt, "layernorm_backward dgamma " + describe(s));
    expect_close(dbeta, dt, "layernorm_backward dbeta " + describe(s));
  }
}

// Enough rows for many row blocks, whose partial sums must combine in the same order every run.
TEST_P(LayerNormConformance, BackwardIsBitwiseReproducible) {
  const DType dt = GetParam();
  const std::int64_t rows = 4099, cols = 771;
  const Pair x = random({rows, cols}, dt, -1.0, 3.0);
  const std::pair<Pair, Pair> stats = statistics(x, rows, cols, 1e-5, dt);
  const Pair &mean = stats.first, &rstd = stats.second;
  const Pair dy = random({rows, cols}, dt), gamma = random({cols}, dt, 0.5, 1.5);
  const Pair dgamma_start = random({cols}, dt), dbeta_start = random({cols}, dt);
  std::vector<double> runs[2][3];  // [run][dx, dgamma, dbeta]
  for (int run = 0; run < 2; ++run) {
    const Pair dx = output({rows, cols}, dt);
    const Pair dgamma = output_like(dgamma_start, dt), dbeta = output_like(dbeta_start, dt);
    gpu().run(ops::layernorm_backward, ops::LayerNormBackwardArgs{dy.gpu, x.gpu, gamma.gpu, mean.gpu,
                                                                  rstd.gpu, dx.gpu, dgamma.gpu, dbeta.gpu});
    runs[run][0] = gpu_values(dx.gpu);
    runs[run][1] = gpu_values(dgamma.gpu);
    runs[run][2] = gpu_values(dbeta.gpu);
  }
  const char* names[] = {"dx", "dgamma", "dbeta"};
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(runs[0][i].size(), runs[1][i].size());
    std::size_t differing = 0;
    for (std::size_t k = 0; k < runs[0][i].size(); ++k) differing += runs[0][i][k] != runs[1][i][k];
    EXPECT_EQ(differing, 0u) << "layernorm_backward " << names[i] << ": elements differ between two runs";
  }
}

INSTANTIATE_TEST_SUITE_P(AllFloating, LayerNormConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

}  // namespace
}  // namespace mtnlg::cuda::test
