#pragma once
// Central finite differences: a backward op is checked against the gradient of its own forward op, in f64,
// independently of the formula the backward kernel uses.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {

// ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h for every i. With h ≈ 1e-5·max(1, |x_i|) the truncation error
// (∝ h²) and the rounding error (∝ ε·|f| / h) are both around 1e-10 relative for smooth f of order 1.
inline std::vector<double> numeric_gradient(std::vector<double> x,
                                            const std::function<double(const std::vector<double>&)>& f) {
  std::vector<double> grad(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    const double h = 1e-5 * std::max(1.0, std::abs(x0));
    x[i] = x0 + h;
    const double up = f(x);
    x[i] = x0 - h;
    const double down = f(x);
    x[i] = x0;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

// |analytic − numeric| ≤ tol · (1 + |numeric|) element by element.
inline void expect_gradient_close(const std::vector<double>& analytic, const std::vector<double>& numeric,
                                  const std::string& what, double tol = 1e-7) {
  ASSERT_EQ(analytic.size(), numeric.size()) << what;
  int reported = 0;
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    const double err = std::abs(analytic[i] - numeric[i]);
    if (!(err <= tol * (1 + std::abs(numeric[i]))) && reported++ < 5)
      ADD_FAILURE() << what << ": element " << i << " is " << analytic[i] << ", finite differences give "
                    << numeric[i] << " (error " << err << ")";
  }
}

// Σ w·y: the scalar whose gradient with respect to y is w, so a backward op fed dy = w returns ∂/∂x of it.
inline double weighted_sum(const std::vector<double>& w, const std::vector<double>& y) {
  double sum = 0;
  for (std::size_t i = 0; i < w.size(); ++i) sum += w[i] * y[i];
  return sum;
}

}  // namespace mtnlg::cpu::test
