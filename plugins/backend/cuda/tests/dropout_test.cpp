// dropout and dropout_backward against the CPU backend, in every floating dtype: the same Philox mask bit for
// bit (the same elements kept and zeroed), and each kept element exactly the CPU's x · 1/(1 − p) rounded once
// to the dtype; in place, with placements whose counters use the high words, and with p = 0.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

constexpr std::uint32_t kKey0 = 0x1234567u, kKey1 = 0x89abcdefu;

ops::DropoutArgs dropout_args(const Tensor& x, const Tensor& out, double p, std::int64_t first_sample,
                              std::int64_t element_offset) {
  ops::DropoutArgs args{x, out, p};
  args.key[0] = kKey0;
  args.key[1] = kKey1;
  args.first_sample = first_sample;
  args.element_offset = element_offset;
  return args;
}

class DropoutConformance : public Conformance, public ::testing::WithParamInterface<DType> {
 protected:
  // The CPU computes in f64, so its kept values are x · 1/(1 − p) unrounded: rounded to the dtype, they are
  // what the GPU must store. Inputs are nonzero, so a zero marks exactly a dropped element.
  void expect_same_mask_and_values(const Pair& out, DType dtype, const std::string& what) {
    const std::vector<double> got = gpu_values(out.gpu), ref = cpu_values(out.cpu);
    ASSERT_EQ(got.size(), ref.size()) << what;
    std::int64_t kept = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i] == 0.0, ref[i] == 0.0)
          << what << ": element " << i << " is " << (got[i] == 0.0 ? "dropped" : "kept")
          << " on the GPU but not on the CPU";
      ASSERT_EQ(got[i], round_to(dtype, ref[i])) << what << ": element " << i;
      kept += got[i] != 0.0;
    }
    if (got.size() >= 1000) {
      EXPECT_GT(kept, 0) << what;
    }
  }
};

TEST_P(DropoutConformance, MatchesTheCpuMask) {
  const DType dt = GetParam();
  const std::int64_t big = (std::int64_t{1} << 32) + 5;
  for (const Shape& shape : {Shape{1, 1}, Shape{7, 33}, Shape{4, 3, 771}, Shape{17}, Shape{3, 333334}})
    for (double p : {0.1, 0.5})
      for (const auto& [first_sample, element_offset] :
           {std::pair<std::int64_t, std::int64_t>{0, 0}, {5, 11}, {big, big}}) {
        const Pair x = random(shape, dt, 0.5, 1.5);
        Pair out = output(shape, dt);
        gpu().run(ops::dropout, dropout_args(x.gpu, out.gpu, p, first_sample, element_offset));
        cpu().run(ops::dropout, dropout_args(x.cpu, out.cpu, p, first_sample, element_offset));
        expect_same_mask_and_values(out, dt,
                                    str("dropout ", shape_str(shape), " p=", p,
                                        " first_sample=", first_sample, " element_offset=", element_offset));
      }
}

TEST_P(DropoutConformance, InPlace) {
  const DType dt = GetParam();
  Pair x = random({7, 1001}, dt, -1.5, -0.5);
  gpu().run(ops::dropout, dropout_args(x.gpu, x.gpu, 0.3, 2, 9));
  cpu().run(ops::dropout, dropout_args(x.cpu, x.cpu, 0.3, 2, 9));
  expect_same_mask_and_values(x, dt, "dropout in place");
}

// The backward pass regenerates the forward's mask from the same stream.
TEST_P(DropoutConformance, BackwardUsesTheForwardMask) {
  const DType dt = GetParam();
  const Shape shape = {5, 3, 257};
  const Pair x = random(shape, dt, 0.5, 1.5), dy = random(shape, dt, 0.5, 1.5);
  Pair out = output(shape, dt), dx = output(shape, dt);
  gpu().run(ops::dropout, dropout_args(x.gpu, out.gpu, 0.4, 3, 0));
  gpu().run(ops::dropout_backward, dropout_args(dy.gpu, dx.gpu, 0.4, 3, 0));
  cpu().run(ops::dropout_backward, dropout_args(dy.cpu, dx.cpu, 0.4, 3, 0));
  expect_same_mask_and_values(dx, dt, "dropout_backward");
  const std::vector<double> forward = gpu_values(out.gpu), backward = gpu_values(dx.gpu);
  for (std::size_t i = 0; i < forward.size(); ++i)
    ASSERT_EQ(forward[i] == 0.0, backward[i] == 0.0) << "element " << i << ": the masks differ";
}

TEST_P(DropoutConformance, ZeroProbabilityKeepsEverything) {
  const DType dt = GetParam();
  const Pair x = random({3, 1000}, dt, 0.5, 1.5);
  Pair out = output({3, 1000}, dt);
  gpu().run(ops::dropout, dropout_args(x.gpu, out.gpu, 0.0, 0, 0));
  EXPECT_EQ(gpu_values(out.gpu), x.values);
}

INSTANTIATE_TEST_SUITE_P(Floating, DropoutConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

}  // namespace
}  // namespace mtnlg::cuda::test
