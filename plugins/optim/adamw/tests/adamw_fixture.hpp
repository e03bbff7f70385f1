#pragma once
// Test scaffolding for the adamw optimizer: the reference CPU backend (optionally counting its ops), the
// optimizer built from keys, and moving data in and out.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mtnlg/backend.hpp"

#include "adamw_optimizer.hpp"
#include "cpu_backend.hpp"

namespace mtnlg::optim::test {

// `profile`: the backend counts every kernel call by op (cpu backend key `profile`), which is how a test sees
// how many `adamw` ops a step queued.
inline std::unique_ptr<cpu::CpuBackend> make_backend(bool profile = false) {
  Table params;
  params.set("threads", Value(std::int64_t{2}));
  params.set("deferred", Value(false));
  if (profile) params.set("profile", Value(true));
  const Table recipe;
  auto backend = std::make_unique<cpu::CpuBackend>(CreateArgs{params, recipe});
  backend->set_component_label("backend 'cpu'");
  return backend;
}

// How many times the backend has run op `op` so far (a backend made with profile = true).
inline std::int64_t op_calls(cpu::CpuBackend& backend, const std::string& op) {
  EXPECT_NE(backend.profile(), nullptr) << "make_backend(true) counts ops";
  if (backend.profile() == nullptr) return -1;
  for (const cpu::OpProfile::Row& r : backend.profile()->rows())
    if (r.op == op) return r.calls;
  return 0;
}

struct Keys {
  double lr = 1e-2, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
};

// Every key set, as the host would after filling defaults; `at` is where the keys "were written".
inline Table adamw_params(const Keys& k, const SourcePos& at = {}) {
  Table t;
  t.set("lr", Value(k.lr, at));
  t.set("beta1", Value(k.beta1, at));
  t.set("beta2", Value(k.beta2, at));
  t.set("eps", Value(k.eps, at));
  t.set("weight_decay", Value(k.weight_decay, at));
  return t;
}

inline std::unique_ptr<AdamWOptimizer> make_adamw(const Keys& k) {
  const Table params = adamw_params(k);
  const Table recipe;
  auto opt = std::make_unique<AdamWOptimizer>(CreateArgs{params, recipe});
  opt->set_component_label("optimizer 'adamw'");
  return opt;
}

// Deterministic, sign-mixed values of varied magnitude (no RNG needed for tests this small).
inline std::vector<double> values(std::size_t n, double phase) {
  std::vector<double> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = std::sin(1.7 * static_cast<double>(i) + phase) * (0.5 + 0.1 * static_cast<double>(i));
  return out;
}

template <class T>
void upload_into(Backend& backend, const Tensor& t, const std::vector<double>& v) {
  std::vector<T> narrow(v.begin(), v.end());
  backend.upload(t, narrow.data());
  backend.synchronize();
}

template <class T>
Tensor upload(Backend& backend, const Shape& shape, const std::vector<double>& v) {
  Tensor t = backend.empty(shape, dtype_of<T>());
  upload_into<T>(backend, t, v);
  return t;
}

template <class T>
std::vector<double> download(Backend& backend, const Tensor& t) {
  std::vector<T> out(static_cast<std::size_t>(t.numel()));
  backend.download(out.data(), t);
  backend.synchronize();
  return {out.begin(), out.end()};
}

}  // namespace mtnlg::optim::test
