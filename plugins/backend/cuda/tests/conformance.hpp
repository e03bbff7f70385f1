#pragma once
// The backend conformance suite's scaffolding (in the spirit of ggml's test-backend-ops): every op of the
// CUDA backend is run on fresh random inputs and compared with the CPU backend run in f64 on the very same
// values (inputs are rounded to the op's dtype first, so only the kernel's own arithmetic is measured).
// Outputs are poisoned with NaN before each run, so an element the kernel never wrote fails the comparison.
//
// Accepted error, ‖got − ref‖ / ‖ref‖ over the whole output (METHOD.md's norms): f64 1e-12, f32 1e-5,
// f16 2e-3, bf16 1e-2 (its 8-bit mantissa gives ~4e-3 per rounding).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cuda_backend.hpp"

namespace mtnlg::cuda::test {

inline constexpr DType kFloatingDTypes[] = {DType::f32, DType::f64, DType::bf16, DType::f16};

// The relative error each dtype is held to (see above).
double tolerance(DType dtype);

// Values as they are after storage in `dtype` (round-to-nearest-even for bf16 and f16).
double round_to(DType dtype, double value);
std::vector<double> round_to(DType dtype, std::vector<double> values);

// A tensor on both backends holding the same values: `gpu` in the op's dtype, `cpu` in f64 (integers: i32
// on both).
struct Pair {
  std::vector<double> values;  // as stored (already rounded to the dtype)
  Tensor gpu, cpu;
};

class Conformance : public ::testing::Test {
 protected:
  // One backend pair for the whole suite: creating a CUDA context per test would cost seconds.
  static CudaBackend& gpu();
  static cpu::CpuBackend& cpu();

  // Fresh random values uniform in [lo, hi), rounded to dtype; the seed is printed with any failure.
  Pair random(Shape shape, DType dtype, double lo = -1.0, double hi = 1.0);
  // Given values (rounded to dtype).
  Pair from_values(Shape shape, DType dtype, std::vector<double> values);
  // i32 token ids uniform in [0, limit).
  Pair tokens(Shape shape, std::int32_t limit);
  // An output of `shape` on both backends, NaN-filled (integer outputs: 0x7fffffff). `like` gives the values
  // an in-place / accumulating op starts from instead.
  Pair output(Shape shape, DType dtype);
  Pair output_like(const Pair& like, DType dtype);

  // Downloads a GPU tensor (any floating dtype or i32) as doubles; same for the CPU backend.
  std::vector<double> gpu_values(const Tensor& t);
  std::vector<double> cpu_values(const Tensor& t);

  // Runs nothing; compares the GPU result of `out` with the CPU one under tolerance(dtype) (or `tol` when
  // positive), failing on any NaN/inf where the reference is finite. `what` names the output.
  void expect_close(const Pair& out, DType dtype, const std::string& what, double tol = 0.0);

  std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_ = std::random_device{}();
  std::mt19937_64 rng_{seed_};
};

// "f32" etc. for parameterised test names.
std::string dtype_param_name(const ::testing::TestParamInfo<DType>& info);

}  // namespace mtnlg::cuda::test
