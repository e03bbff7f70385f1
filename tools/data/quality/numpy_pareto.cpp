#include "numpy_pareto.hpp"

#include <cmath>

namespace mtnlg::data::quality {

double NumpyPareto::uniform() {
  const std::uint32_t a = static_cast<std::uint32_t>(mt_()) >> 5;
  const std::uint32_t b = static_cast<std::uint32_t>(mt_()) >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double NumpyPareto::exponential() {
  return -std::log(1.0 - uniform());
}

// numpy computes exp(E / a) - 1, not expm1(E / a): the two differ in the last bits, and we want its bits.
double NumpyPareto::pareto(double alpha) {
  return std::exp(exponential() / alpha) - 1.0;
}

double pareto_keep_probability(double score, double alpha) {
  const double x = 1.0 - score;
  return x < 0.0 ? 1.0 : std::pow(1.0 + x, -alpha);
}

}  // namespace mtnlg::data::quality
