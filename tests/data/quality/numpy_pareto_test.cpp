// GPT-3's filter draws: numpy's legacy generator reproduced (values numpy 1.24 printed for
// np.random.seed(S); np.random.pareto(9, 4) etc.), and the keep rate against its closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "numpy_pareto.hpp"

namespace mtnlg::data::quality {
namespace {

TEST(NumpyPareto, UniformAndExponentialAreNumpys) {
  NumpyPareto u(7);
  EXPECT_DOUBLE_EQ(u.uniform(), 0.07630828937395717);
  EXPECT_DOUBLE_EQ(u.uniform(), 0.7799187922401146);
  EXPECT_DOUBLE_EQ(u.uniform(), 0.4384092314408935);
  NumpyPareto e(7);
  EXPECT_DOUBLE_EQ(e.exponential(), 0.07937690952144451);
  EXPECT_DOUBLE_EQ(e.exponential(), 1.5137586745587868);
  EXPECT_DOUBLE_EQ(e.exponential(), 0.5769818641565158);
}

TEST(NumpyPareto, ParetoIsNumpysDrawForDraw) {
  const struct {
    std::uint32_t seed;
    std::vector<double> draws;
  } cases[] = {
      {0, {0.0924583251093416, 0.14975383455355895, 0.10802632773202037, 0.09140602337892356}},
      {1234, {0.02390328413388798, 0.11418996622900957, 0.06606504747318054, 0.18646259979144952}},
      {4294967295u, {0.011480162809379246, 0.3106601494339256, 0.18874253110194128, 0.18321845755054267}},
  };
  for (const auto& c : cases) {
    NumpyPareto p(c.seed);
    for (const double want : c.draws) EXPECT_DOUBLE_EQ(p.pareto(9.0), want) << "seed " << c.seed;
  }
}

// P(keep | s) = P(pareto(9) > 1 - s) = (2 - s)^-9. With n = 200000 draws the observed rate's standard
// deviation is sqrt(p(1 - p) / n) <= 0.0011; we allow 5 of them (a false failure has probability ~6e-7 for a
// correct generator, and the draws are seeded, so the test is deterministic anyway).
TEST(NumpyPareto, KeepRateMatchesTheClosedForm) {
  constexpr int n = 200000;
  for (const double s : {0.5, 0.8, 0.95}) {
    NumpyPareto p(42);
    int kept = 0;
    for (int i = 0; i < n; ++i) kept += p.pareto(9.0) > 1.0 - s;
    const double want = std::pow(2.0 - s, -9.0);
    EXPECT_DOUBLE_EQ(pareto_keep_probability(s, 9.0), want);
    const double sigma = std::sqrt(want * (1 - want) / n);
    EXPECT_NEAR(static_cast<double>(kept) / n, want, 5 * sigma) << "score " << s;
  }
}

TEST(NumpyPareto, ScoreOneIsAlwaysKept) {
  NumpyPareto p(3);
  for (int i = 0; i < 1000; ++i) EXPECT_GT(p.pareto(9.0), 0.0 - 1e-300);
  EXPECT_EQ(pareto_keep_probability(1.0, 9.0), 1.0);
}

}  // namespace
}  // namespace mtnlg::data::quality
