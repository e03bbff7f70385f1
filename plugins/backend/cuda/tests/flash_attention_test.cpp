// flash_attention and flash_attention_backward on the GPU against the CPU backend in f64 on the same rounded
// values (the CPU op is itself checked against a naive reference in the CPU backend's tests), for every
// floating dtype, bf16 and f16 on both the tensor-core and the SIMT kernels; sizes that leave partial tiles
// (T = 1, 63, 200), a long sequence (1024), and head sizes that pad to each of the kernels' widths (32, 64,
// 128) or not (80, and odd ones, which also take the kernels' element-wise loads). The backward pass must
// give the same bits twice, and a head size beyond the kernels' range is an error.
#include <gmock/gmock.h>

#include <cmath>
#include <memory>
#include <string>

#include "mtnlg/cuda/flash_attention.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

// The dtype, and which kernels run bf16/f16 (the backend's `attention` key): every dtype with the default
// (tensor cores for bf16/f16, SIMT for f32/f64), and bf16/f16 once more on the SIMT kernels.
struct Kernels {
  DType dtype;
  FlashAttentionKernels kernels;
};

class FlashAttentionConformance : public Conformance, public ::testing::WithParamInterface<Kernels> {
 protected:
  void SetUp() override { gpu().set_attention_kernels(GetParam().kernels); }
  void TearDown() override { gpu().set_attention_kernels(FlashAttentionKernels::tensor_cores); }

  // q and k in [−2, 2] give scores of standard deviation about 1 at scale 1/√d: softmax rows that are
  // neither uniform nor one-hot.
  struct Inputs {
    Pair q, k, v;
    double scale;
  };
  Inputs inputs(std::int64_t bh, std::int64_t t, std::int64_t d, DType dtype) {
    const Shape shape{bh, t, d};
    return {random(shape, dtype, -2.0, 2.0), random(shape, dtype, -2.0, 2.0), random(shape, dtype),
            1.0 / std::sqrt(static_cast<double>(d))};
  }

  // Runs the forward on both backends into out and lse.
  void forward(const Inputs& in, const Pair& out, const Pair& lse) {
    gpu().run(ops::flash_attention,
              ops::FlashAttentionArgs{in.q.gpu, in.k.gpu, in.v.gpu, out.gpu, lse.gpu, in.scale});
    cpu().run(ops::flash_attention,
              ops::FlashAttentionArgs{in.q.cpu, in.k.cpu, in.v.cpu, out.cpu, lse.cpu, in.scale});
  }

  void check_forward(std::int64_t bh, std::int64_t t, std::int64_t d) {
    const DType dtype = GetParam().dtype, lse_dtype = ops::flash_attention_lse_dtype(dtype);
    const Inputs in = inputs(bh, t, d, dtype);
    const Pair out = output({bh, t, d}, dtype), lse = output({bh, t}, lse_dtype);
    forward(in, out, lse);
    const std::string what = str("BH=", bh, " T=", t, " d=", d);
    expect_close(out, dtype, "out " + what);
    expect_close(lse, lse_dtype, "lse " + what);
  }

  // The backward pass's out and lse are the f64 forward's, rounded to their dtypes and given to both
  // backends, so both differentiate through the very same values.
  void check_backward(std::int64_t bh, std::int64_t t, std::int64_t d) {
    const DType dtype = GetParam().dtype, lse_dtype = ops::flash_attention_lse_dtype(dtype);
    const Shape shape{bh, t, d};
    const Inputs in = inputs(bh, t, d, dtype);
    const Pair exact_out = output(shape, dtype), exact_lse = output({bh, t}, lse_dtype);
    forward(in, exact_out, exact_lse);
    const Pair out = from_values(shape, dtype, cpu_values(exact_out.cpu));
    const Pair lse = from_values({bh, t}, lse_dtype, cpu_values(exact_lse.cpu));
    const Pair dout = random(shape, dtype);
    const Pair dq = output(shape, dtype), dk = output(shape, dtype), dv = output(shape, dtype);
    gpu().run(ops::flash_attention_backward,
              ops::FlashAttentionBackwardArgs{in.q.gpu, in.k.gpu, in.v.gpu, out.gpu, lse.gpu, dout.gpu,
                                              dq.gpu, dk.gpu, dv.gpu, in.scale});
    cpu().run(ops::flash_attention_backward,
              ops::FlashAttentionBackwardArgs{in.q.cpu, in.k.cpu, in.v.cpu, out.cpu, lse.cpu, dout.cpu,
                                              dq.cpu, dk.cpu, dv.cpu, in.scale});
    const std::string what = str("BH=", bh, " T=", t, " d=", d);
    expect_close(dq, dtype, "dq " + what);
    expect_close(dk, dtype, "dk " + what);
    expect_close(dv, dtype, "dv " + what);
  }
};

const std::int64_t kHeads[] = {1, 6};
const std::int64_t kSeqLens[] = {1, 63, 200, 1024};
const std::int64_t kHeadDims[] = {32, 64, 80, 128};

TEST_P(FlashAttentionConformance, Forward) {
  for (std::int64_t bh : kHeads)
    for (std::int64_t t : kSeqLens)
      for (std::int64_t d : kHeadDims) check_forward(bh, t, d);
}

TEST_P(FlashAttentionConformance, Backward) {
  for (std::int64_t bh : kHeads)
    for (std::int64_t t : kSeqLens)
      for (std::int64_t d : kHeadDims) check_backward(bh, t, d);
}

// Head sizes that fill none of a row group's registers evenly: 1, 7 and 33 pad to 32 and 64.
TEST_P(FlashAttentionConformance, OddHeadSizes) {
  for (std::int64_t d : {1, 7, 33}) {
    check_forward(3, 65, d);
    check_backward(3, 65, d);
  }
}

// No atomics: the same inputs give the same bits.
TEST_P(FlashAttentionConformance, BackwardIsDeterministic) {
  const DType dtype = GetParam().dtype, lse_dtype = ops::flash_attention_lse_dtype(dtype);
  const std::int64_t bh = 6, t = 200, d = 80;
  const Shape shape{bh, t, d};
  const Inputs in = inputs(bh, t, d, dtype);
  const Pair out = output(shape, dtype), lse = output({bh, t}, lse_dtype), dout = random(shape, dtype);
  forward(in, out, lse);
  std::vector<std::vector<double>> runs[2];
  for (auto& run : runs) {
    const Tensor dq = gpu().empty(shape, dtype), dk = gpu().empty(shape, dtype),
                 dv = gpu().empty(shape, dtype);
    gpu().run(ops::flash_attention_backward,
              ops::FlashAttentionBackwardArgs{in.q.gpu, in.k.gpu, in.v.gpu, out.gpu, lse.gpu, dout.gpu, dq,
                                              dk, dv, in.scale});
    run = {gpu_values(dq), gpu_values(dk), gpu_values(dv)};
  }
  const char* names[] = {"dq", "dk", "dv"};
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(runs[0][i] == runs[1][i]) << names[i] << " differs between two runs";
}

TEST_P(FlashAttentionConformance, HeadSizeBeyondTheKernels) {
  const DType dtype = GetParam().dtype, lse_dtype = ops::flash_attention_lse_dtype(dtype);
  const std::int64_t d = kFlashAttentionMaxHeadDim + 1;
  const Shape shape{2, 5, d};
  const Tensor q = gpu().empty(shape, dtype), k = gpu().empty(shape, dtype), v = gpu().empty(shape, dtype),
               out = gpu().empty(shape, dtype), lse = gpu().empty({2, 5}, lse_dtype);
  EXPECT_THAT(
      [&] {
        gpu().run(ops::flash_attention, ops::FlashAttentionArgs{q, k, v, out, lse, 0.1});
      },
      ::testing::ThrowsMessage<Error>(::testing::HasSubstr("the head size d must be in [1, 128]")));
}

// The recipe key: "simt" and "tensor_cores" select, anything else is refused with the choices.
TEST(FlashAttentionKernelsKey, SelectsOrRefuses) {
  const auto make = [](const char* value) {
    Table params;
    params.set("device", Value(std::int64_t{-1}));
    params.set("attention", Value(std::string(value)));
    const Table recipe;
    return std::make_unique<CudaBackend>(CreateArgs{params, recipe});
  };
  EXPECT_EQ(make("simt")->attention_kernels(), FlashAttentionKernels::simt);
  EXPECT_EQ(make("tensor_cores")->attention_kernels(), FlashAttentionKernels::tensor_cores);
  EXPECT_THAT([&] { make("wmma"); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(::testing::HasSubstr("key 'attention'"),
                                                               ::testing::HasSubstr("\"wmma\""),
                                                               ::testing::HasSubstr("\"simt\""))));
}

std::string kernels_name(const ::testing::TestParamInfo<Kernels>& info) {
  return std::string(dtype_name(info.param.dtype)) +
         (info.param.kernels == FlashAttentionKernels::simt ? "_simt" : "");
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, FlashAttentionConformance,
                         ::testing::Values(Kernels{DType::f32, FlashAttentionKernels::tensor_cores},
                                           Kernels{DType::f64, FlashAttentionKernels::tensor_cores},
                                           Kernels{DType::bf16, FlashAttentionKernels::tensor_cores},
                                           Kernels{DType::f16, FlashAttentionKernels::tensor_cores},
                                           Kernels{DType::bf16, FlashAttentionKernels::simt},
                                           Kernels{DType::f16, FlashAttentionKernels::simt}),
                         kernels_name);

}  // namespace
}  // namespace mtnlg::cuda::test
