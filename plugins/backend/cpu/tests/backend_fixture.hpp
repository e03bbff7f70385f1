#pragma once
// Test scaffolding for the CPU backend: building one from keys, moving data in and out, seeded random data
// and the tolerance each dtype is held to.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "cpu_backend.hpp"

namespace mtnlg::cpu::test {

inline std::unique_ptr<CpuBackend> make_backend(std::int64_t threads = 2, bool deferred = false) {
  Table params;
  params.set("threads", Value(threads));
  params.set("deferred", Value(deferred));
  const Table recipe;
  auto backend = std::make_unique<CpuBackend>(CreateArgs{params, recipe});
  backend->set_component_label("backend 'cpu'");
  return backend;
}

template <class T>
Tensor to_device(Backend& backend, Shape shape, const std::vector<T>& values) {
  Tensor t = backend.empty(std::move(shape), dtype_of<T>());
  EXPECT_EQ(static_cast<std::size_t>(t.numel()), values.size());
  backend.upload(t, values.data());
  backend.synchronize();
  return t;
}

template <class T>
std::vector<T> to_host(Backend& backend, const Tensor& t) {
  std::vector<T> values(static_cast<std::size_t>(t.numel()));
  backend.download(values.data(), t);
  backend.synchronize();
  return values;
}

// Uniform in [lo, hi), the same sequence for the same seed on every run.
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

// Token ids uniform in [0, limit), the same sequence for the same seed on every run.
inline std::vector<std::int32_t> random_tokens(std::size_t n, std::int32_t limit, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> dist(0, limit - 1);
  std::vector<std::int32_t> v(n);
  for (auto& t : v) t = dist(rng);
  return v;
}

template <class T>
std::vector<double> widen(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Each result is compared with a naive f64 reference: |got − ref| ≤ rel · magnitude, where magnitude is the
// sum of the absolute values of the terms that make up ref (at least 1e-300), i.e. a relative error bound
// that does not blow up where terms cancel. rel is 1e-5 for f32 and 1e-12 for f64.
template <class T>
constexpr double kRelTol = sizeof(T) == 4 ? 1e-5 : 1e-12;

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<double>& ref,
                  const std::vector<double>& magnitude, const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  int reported = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - ref[i]);
    const double bound = kRelTol<T> * std::max(magnitude[i], 1e-300);
    if (!(err <= bound) && reported++ < 5)
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << ref[i] << " (error "
                    << err << " > bound " << bound << ")";
  }
}

// A bitwise comparison (NaNs included), for determinism tests.
template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The odd sizes every op is tried on: 1, and sizes that leave remainders for any block or vector width.
inline const std::vector<std::int64_t> kOddSizes = {1, 3, 7, 17, 33, 65};

// f32 and f64 for typed tests, named by dtype.
using FloatTypes = ::testing::Types<float, double>;
struct DTypeNames {
  template <class T>
  static std::string GetName(int) {
    return std::string(dtype_name(dtype_of<T>()));
  }
};

}  // namespace mtnlg::cpu::test
