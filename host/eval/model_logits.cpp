#include "eval/model_logits.hpp"

#include <algorithm>
#include <cmath>

#include "mtnlg/error.hpp"

namespace mtnlg::host::eval {

std::vector<double> download_rows(Backend& be, const Tensor& logits, std::int64_t first, std::int64_t count) {
  const Tensor rows = logits.slice(0, first, count);
  std::vector<double> out(static_cast<std::size_t>(rows.numel()));
  if (rows.dtype() == DType::f64) {
    be.download(out.data(), rows);
    be.synchronize();
  } else {
    MTNLG_CHECK(rows.dtype() == DType::f32, "logits must be f32 or f64");
    std::vector<float> f(out.size());
    be.download(f.data(), rows);
    be.synchronize();
    std::copy(f.begin(), f.end(), out.begin());
  }
  return out;
}

std::pair<double, bool> token_logprob(const double* row, std::int64_t vocab, std::int32_t token) {
  const double* top = std::max_element(row, row + vocab);
  double sum = 0.0;
  for (std::int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - *top);
  return {row[token] - *top - std::log(sum), top - row == token};
}

}  // namespace mtnlg::host::eval
