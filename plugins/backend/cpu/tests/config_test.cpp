// The backend's keys, identity and op table.
#include <thread>

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

using ::testing::HasSubstr;

TEST(CpuConfig, ThreadsKey) {
  EXPECT_EQ(make_backend(3)->threads(), 3);
  EXPECT_EQ(make_backend(1)->threads(), 1);
  const unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(make_backend(0)->threads(), hw == 0 ? 1 : static_cast<int>(hw));
}

TEST(CpuConfig, NegativeThreadsIsRejectedWithTheKeyAndWhere) {
  Table params;
  params.set("threads", Value(std::int64_t{-2}, SourcePos{"recipes/tiny.toml", 4, 1, ""}));
  params.set("deferred", Value(false));
  const Table recipe;
  EXPECT_THAT(
      [&] {
        CpuBackend backend(CreateArgs{params, recipe});
      },
      ::testing::ThrowsMessage<Error>(
          AllOf(HasSubstr("key 'threads' (recipes/tiny.toml:4:1)"), HasSubstr("got -2"))));
}

TEST(CpuConfig, DeferredKey) {
  EXPECT_FALSE(make_backend(2, false)->deferred());
  EXPECT_TRUE(make_backend(2, true)->deferred());
}

TEST(CpuConfig, DeviceAndOps) {
  auto backend = make_backend();
  EXPECT_EQ(backend->device(), (Device{DeviceKind::cpu, 0}));
  EXPECT_THAT(
      backend->op_names(),
      ::testing::UnorderedElementsAre(
          "adamw (f32, f64)", "add (f32, f64, bf16, f16)", "axpy (f32, f64, bf16, f16)",
          "bias_add (f32, f64, bf16, f16)", "cast (f32, f64, bf16, f16)",
          "causal_softmax (f32, f64, bf16, f16)", "causal_softmax_backward (f32, f64, bf16, f16)",
          "column_sum (f32, f64, bf16, f16)", "copy (f32, f64, bf16, f16, i32, i64, u16)",
          "cross_entropy (f32, f64, bf16, f16)", "cross_entropy_backward (f32, f64, bf16, f16)",
          "cross_entropy_from_parts (f32, f64, bf16, f16)", "cross_entropy_partial (f32, f64, bf16, f16)",
          "cross_entropy_partial_backward (f32, f64, bf16, f16)", "row_max (f32, f64, bf16, f16)",
          "dropout (f32, f64, bf16, f16)", "dropout_backward (f32, f64, bf16, f16)",
          "embedding (f32, f64, bf16, f16)", "embedding_backward (f32, f64, bf16, f16)",
          "fill (f32, f64, bf16, f16, i32, i64, u16)", "flash_attention (f32, f64, bf16, f16)",
          "flash_attention_backward (f32, f64, bf16, f16)", "gelu (f32, f64, bf16, f16)",
          "gelu_backward (f32, f64, bf16, f16)", "gemm (f32, f64, bf16, f16)",
          "layernorm (f32, f64, bf16, f16)", "layernorm_backward (f32, f64, bf16, f16)",
          "mul (f32, f64, bf16, f16)", "scale (f32, f64, bf16, f16)", "squared_norm (f32, f64, bf16, f16)"));
  EXPECT_TRUE(backend->supports("copy", DType::u16));
  EXPECT_TRUE(backend->supports("gemm", DType::bf16));
  EXPECT_FALSE(backend->supports("adamw", DType::f16));
}

}  // namespace
}  // namespace mtnlg::cpu::test
