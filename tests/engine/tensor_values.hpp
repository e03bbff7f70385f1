#pragma once
// A backend tensor's values on the host, as doubles, for the engine tests' comparisons. f32 widens to double
// exactly, so equal doubles are equal bits (the tests have no NaNs).
#include <algorithm>
#include <vector>

#include "mtnlg/backend.hpp"

inline std::vector<double> tensor_values(mtnlg::Backend& backend, const mtnlg::Tensor& t) {
  std::vector<double> out(static_cast<std::size_t>(t.numel()));
  if (t.dtype() == mtnlg::DType::f64) {
    backend.download(out.data(), t);
    backend.synchronize();
  } else {
    std::vector<float> f(out.size());
    backend.download(f.data(), t);
    backend.synchronize();
    std::copy(f.begin(), f.end(), out.begin());
  }
  return out;
}
