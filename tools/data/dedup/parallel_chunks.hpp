#pragma once
// Runs fn(begin, end) on `workers` threads over contiguous slices of [0, n). Each slice's results land in
// caller-owned slots by index, so the outcome does not depend on the number of workers; if slices throw, the
// error of the earliest slice is rethrown, so even the error message does not depend on it.
#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace mtnlg::data::dedup {

template <class Fn>
void parallel_chunks(std::size_t n, int workers, Fn&& fn) {
  const std::size_t count = static_cast<std::size_t>(std::max(workers, 1));
  const std::size_t per_worker = (n + count - 1) / count;
  if (count == 1 || n <= 1) {
    fn(std::size_t{0}, n);
    return;
  }
  std::vector<std::exception_ptr> errors(count);
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < count; ++w) {
    const std::size_t begin = std::min(n, w * per_worker), end = std::min(n, (w + 1) * per_worker);
    if (begin == end) break;
    threads.emplace_back([&, w, begin, end] {
      try {
        fn(begin, end);
      } catch (...) {
        errors[w] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace mtnlg::data::dedup
