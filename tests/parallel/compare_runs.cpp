// compare_runs REF RUN [--loss-rtol R] [--weight-rtol W] [--expect-different]
// Compares two training runs of the same recipe: the losses and gradient norms in RUN_DIR/metrics.jsonl step
// by step (relative difference) and the final weights in RUN_DIR/checkpoint (per tensor, max|a − b| ≤ W ·
// max|ref|). Prints a line per check and exits 1 at the first tolerance exceeded — or, with
// --expect-different, exits 1 if everything agrees (to show that a planted bug is caught).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "recipe/load_recipe.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<double> metric(const fs::path& run, const char* key) {
  std::ifstream in(run / "metrics.jsonl");
  if (!in) throw std::runtime_error("no " + (run / "metrics.jsonl").string());
  std::vector<double> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    // val_loss only on evaluation steps; null (not finite: an fp16 step's overflowed gradient norm) as NaN
    if (j.contains(key))
      out.push_back(j.at(key).is_null() ? std::numeric_limits<double>::quiet_NaN() : j.at(key).get<double>());
  }
  return out;
}

struct Weights {
  mtnlg::Table manifest;
  std::vector<double> values;
};

Weights weights(const fs::path& run) {
  Weights w;
  w.manifest = mtnlg::recipe::load_recipe(run / "checkpoint" / "manifest.toml");
  const std::string dtype = w.manifest.get_string("dtype");
  std::ifstream in(run / "checkpoint" / "parameters.bin", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (dtype == "f64") {
    w.values.resize(bytes.size() / 8);
    std::memcpy(w.values.data(), bytes.data(), bytes.size());
  } else {
    std::vector<float> f(bytes.size() / 4);
    std::memcpy(f.data(), bytes.data(), bytes.size());
    w.values.assign(f.begin(), f.end());
  }
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: compare_runs REF RUN [--loss-rtol R] [--weight-rtol W] [--expect-different]\n";
    return 2;
  }
  double loss_rtol = 1e-9, weight_rtol = 1e-9;
  bool expect_different = false;
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--loss-rtol") && i + 1 < argc)
      loss_rtol = std::stod(argv[++i]);
    else if (!std::strcmp(argv[i], "--weight-rtol") && i + 1 < argc)
      weight_rtol = std::stod(argv[++i]);
    else if (!std::strcmp(argv[i], "--expect-different"))
      expect_different = true;
  }
  try {
    bool agree = true;
    // The loss and the global gradient norm (which must count every parameter exactly once) of every step,
    // and the validation loss (forward-only through the pipeline, shared by data-parallel ranks).
    for (const char* key : {"loss", "grad_norm", "val_loss"}) {
      const auto a = metric(argv[1], key), b = metric(argv[2], key);
      if (a.size() != b.size() || (a.empty() && std::strcmp(key, "val_loss") != 0)) {
        std::cout << "FAIL: " << a.size() << " vs " << b.size() << " logged steps\n";
        return 1;
      }
      for (std::size_t i = 0; i < a.size(); ++i) {
        // Two non-finite values agree (both runs overflowed at that step); one does not.
        const bool finite = std::isfinite(a[i]) && std::isfinite(b[i]);
        const double rel = finite ? std::abs(a[i] - b[i]) / std::max(std::abs(a[i]), 1e-300) : 0.0;
        const bool ok = finite ? rel <= loss_rtol : std::isfinite(a[i]) == std::isfinite(b[i]);
        agree &= ok;
        std::printf("%s step %zu %s %.17g vs %.17g (relative difference %.3g, tolerance %.1g)\n",
                    ok ? "ok  " : "FAIL", i + 1, key, a[i], b[i], rel, loss_rtol);
      }
    }
    const Weights wa = weights(argv[1]), wb = weights(argv[2]);
    const auto& pa = wa.manifest.get_array("parameters");
    const auto& pb = wb.manifest.get_array("parameters");
    if (pa.size() != pb.size() || wa.values.size() != wb.values.size()) {
      std::cout << "FAIL: the checkpoints hold different models\n";
      return 1;
    }
    double worst = 0.0;
    std::string worst_name;
    for (std::size_t i = 0; i < pa.size(); ++i) {
      const mtnlg::Table& t = pa[i].as_table();
      std::int64_t n = 1;
      for (const auto& d : t.get_array("shape")) n *= d.as_int();
      const std::int64_t off = t.get_int("offset");
      double ref = 0.0, diff = 0.0;
      for (std::int64_t k = off; k < off + n; ++k) {
        ref = std::max(ref, std::abs(wa.values[k]));
        diff = std::max(diff, std::abs(wa.values[k] - wb.values[k]));
      }
      const double rel = ref > 0.0 ? diff / ref : diff;
      if (rel >= worst) worst = rel, worst_name = t.get_string("name");
      if (rel > weight_rtol) {
        agree = false;
        std::printf("FAIL weights %s: max|a-b| = %.3g = %.3g x max|ref|\n", t.get_string("name").c_str(),
                    diff, rel);
      }
    }
    std::printf("%s weights: %zu tensors, worst %s at %.3g x max|ref| (tolerance %.1g)\n",
                worst <= weight_rtol ? "ok  " : "FAIL", pa.size(), worst_name.c_str(), worst, weight_rtol);
    if (expect_different) {
      std::cout << (agree ? "FAIL: the runs agree, but a planted bug should have made them differ\n"
                          : "ok: the planted bug was caught\n");
      return agree ? 1 : 0;
    }
    return agree ? 0 : 1;
  } catch (const std::exception& e) {
    std::cout << "FAIL: " << e.what() << "\n";
    return 1;
  }
}
