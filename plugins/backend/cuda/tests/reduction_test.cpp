// column_sum and squared_norm against the CPU backend in f64, in every floating dtype, on sizes that give one
// and many row chunks (column_sum) or element chunks (squared_norm); and their determinism: the same input
// twice gives the same bits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

class ReductionConformance : public Conformance, public ::testing::WithParamInterface<DType> {};

const Shape kColumnSumShapes[] = {{1, 1}, {7, 33}, {1000, 771}, {5000, 7}, {300, 3, 33}, {100003, 3}, {0, 5}};

TEST_P(ReductionConformance, ColumnSumOverwrites) {
  const DType dt = GetParam();
  for (const Shape& shape : kColumnSumShapes) {
    const Pair x = random(shape, dt);
    Pair out = output({shape.back()}, dt);  // NaN: beta = 0 must not read it
    gpu().run(ops::column_sum, ops::ColumnSumArgs{x.gpu, out.gpu});
    cpu().run(ops::column_sum, ops::ColumnSumArgs{x.cpu, out.cpu});
    expect_close(out, dt, str("column_sum ", shape_str(shape)));
  }
}

TEST_P(ReductionConformance, ColumnSumAccumulates) {
  const DType dt = GetParam();
  for (const Shape& shape : kColumnSumShapes) {
    const Pair x = random(shape, dt);
    Pair out = random({shape.back()}, dt);
    gpu().run(ops::column_sum, ops::ColumnSumArgs{x.gpu, out.gpu, 0.5});
    cpu().run(ops::column_sum, ops::ColumnSumArgs{x.cpu, out.cpu, 0.5});
    expect_close(out, dt, str("column_sum with beta 0.5, ", shape_str(shape)));
  }
}

TEST_P(ReductionConformance, ColumnSumIsReproducible) {
  const DType dt = GetParam();
  const Pair x = random({20000, 771}, dt);
  Pair first = output({771}, dt), second = output({771}, dt);
  gpu().run(ops::column_sum, ops::ColumnSumArgs{x.gpu, first.gpu});
  gpu().run(ops::column_sum, ops::ColumnSumArgs{x.gpu, second.gpu});
  EXPECT_EQ(gpu_values(first.gpu), gpu_values(second.gpu));
}

TEST_P(ReductionConformance, SquaredNorm) {
  const DType dt = GetParam();
  for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{7}, std::int64_t{16385},
                         std::int64_t{1000003}, (std::int64_t{1} << 24) + 3}) {
    // |x| ≤ r with n·r²/3 ≈ 10⁴ at most: the sum must fit f16 (max 65504).
    const double r = std::min(1.0, std::sqrt(3e4 / static_cast<double>(std::max<std::int64_t>(n, 1))));
    const Pair x = random({n}, dt, -r, r);
    Pair out = output({1}, dt);
    gpu().run(ops::squared_norm, ops::SquaredNormArgs{x.gpu, out.gpu});
    cpu().run(ops::squared_norm, ops::SquaredNormArgs{x.cpu, out.cpu});
    expect_close(out, dt, str("squared_norm n=", n));
  }
}

TEST_P(ReductionConformance, SquaredNormIsReproducible) {
  const DType dt = GetParam();
  const Pair x = random({(std::int64_t{1} << 22) + 5}, dt, -0.1, 0.1);
  Pair first = output({1}, dt), second = output({1}, dt);
  gpu().run(ops::squared_norm, ops::SquaredNormArgs{x.gpu, first.gpu});
  gpu().run(ops::squared_norm, ops::SquaredNormArgs{x.gpu, second.gpu});
  EXPECT_EQ(gpu_values(first.gpu), gpu_values(second.gpu));
}

INSTANTIATE_TEST_SUITE_P(Floating, ReductionConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

}  // namespace
}  // namespace mtnlg::cuda::test
