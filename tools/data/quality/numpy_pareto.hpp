#pragma once
// GPT-3's document filter draws np.random.pareto(alpha) once per document. This reproduces numpy's legacy
// generator (np.random.seed(seed); np.random.pareto(alpha)) draw for draw, so a filter run here keeps the
// documents the same seeded Python run would:
//   - the bit generator is MT19937 seeded with init_genrand(seed): exactly std::mt19937(seed);
//   - a uniform double takes two 32-bit outputs: ((a >> 5) * 2^26 + (b >> 6)) / 2^53, in [0, 1);
//   - a standard exponential is E = -log(1 - u);
//   - pareto(alpha) = exp(E / alpha) - 1 (the Lomax distribution; numpy's legacy_pareto).
// Values agree with numpy to the last bit where the C library's exp and log are the ones numpy uses (glibc).
#include <cstdint>
#include <random>

namespace mtnlg::data::quality {

class NumpyPareto {
 public:
  explicit NumpyPareto(std::uint32_t seed) : mt_(seed) {}

  double uniform();      // numpy's random_sample()
  double exponential();  // numpy's standard_exponential() (legacy)
  double pareto(double alpha);

 private:
  std::mt19937 mt_;  // its output sequence is fixed by the C++ standard, as numpy's MT19937 is by its paper
};

// P(pareto(alpha) > x) = (1 + x)^-alpha for x >= 0: the chance GPT-3's rule keeps a document of score s is
// (2 - s)^-alpha.
double pareto_keep_probability(double score, double alpha);

}  // namespace mtnlg::data::quality
