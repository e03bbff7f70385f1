// What a user sees for a bad call: the backend's name, the op, the shapes and what to do.
#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class CpuErrors : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
  Tensor f32(Shape shape) { return backend->empty(std::move(shape), DType::f32); }
};

TEST_F(CpuErrors, UnsupportedDtype) {
  ops::GemmArgs args{backend->empty({2, 2}, DType::i32), backend->empty({2, 2}, DType::i32),
                     backend->empty({2, 2}, DType::i32)};
  EXPECT_THAT([&] { backend->run(ops::gemm, args); },
              ThrowsMessage<Error>(HasSubstr(
                  "backend 'cpu' does not support op 'gemm' for i32; it supports: f32, f64, bf16, f16")));
  // Master weights stay f32: adamw has no 16-bit kernel.
  const auto bf16 = [&] { return backend->empty({2}, DType::bf16); };
  EXPECT_THAT(
      [&] {
        backend->run(ops::adamw, ops::AdamWArgs{bf16(), bf16(), bf16(), bf16()});
      },
      ThrowsMessage<Error>(HasSubstr("does not support op 'adamw' for bf16; it supports: f32, f64")));
}

TEST_F(CpuErrors, CastNeedsFloatingContiguousSameShapeDisjoint) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::cast, ops::CastArgs{backend->empty({3}, DType::u16), f32({3})});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("cast: src is u16 (3) on cpu and dst is f32 (3) on cpu"),
                                 HasSubstr("f32, f64, bf16 and f16 (copy moves integers)"))));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cast, ops::CastArgs{f32({2, 3}), backend->empty({6}, DType::bf16)});
      },
      ThrowsMessage<Error>(HasSubstr("cast: src is f32 (2, 3) on cpu but dst is bf16 (6) on cpu")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cast,
                     ops::CastArgs{f32({3, 2}).transpose(0, 1), backend->empty({2, 3}, DType::f16)});
      },
      ThrowsMessage<Error>(HasSubstr("cast: operand src")));
  // Overlap is judged in bytes, as the element offsets are in units of different sizes. f32 elements 2..3
  // (bytes 8..15) and f16 elements 4..5 (bytes 8..11) overlap; f16 elements 0..1 (bytes 0..3) and f32
  // elements 1..2 (bytes 4..11) do not.
  const Tensor buffer = f32({4});
  const auto view = [&](DType dtype, std::int64_t offset) {
    return Tensor(buffer.storage(), {2}, dtype, offset);
  };
  EXPECT_THAT(
      [&] {
        backend->run(ops::cast, ops::CastArgs{view(DType::f32, 2), view(DType::f16, 4)});
      },
      ThrowsMessage<Error>(HasSubstr("cast: output dst (f16 (2) on cpu) overlaps input src")));
  backend->run(ops::cast, ops::CastArgs{view(DType::f16, 0), view(DType::f32, 1)});
}

TEST_F(CpuErrors, GemmInnerDimensionMismatch) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::gemm, ops::GemmArgs{f32({3, 5}), f32({4, 7}), f32({3, 7})});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("backend 'cpu': gemm: inner dimensions differ"),
                                 HasSubstr("op(a) is (M, K) = (3, 5)"), HasSubstr("op(b) is (K, N) = (4, 7)"),
                                 HasSubstr("check the shapes and the trans flags"))));
}

TEST_F(CpuErrors, GemmOutputShapeAndBatch) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::gemm, ops::GemmArgs{f32({3, 5}), f32({5, 7}), f32({7, 3})});
      },
      ThrowsMessage<Error>(HasSubstr("gemm: c must be (M, N) = (3, 7)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::gemm, ops::GemmArgs{f32({2, 3, 5}), f32({3, 5, 7}), f32({2, 3, 7})});
      },
      ThrowsMessage<Error>(HasSubstr("gemm: batch sizes differ (a: 2, b: 3, c: 2)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::gemm, ops::GemmArgs{f32({2, 3, 5}), f32({5, 7}), f32({2, 3, 7})});
      },
      ThrowsMessage<Error>(HasSubstr("gemm: operands must all be 2-D, or all 3-D")));
}

// A transposed view has stride != 1 along its last dimension: BLAS cannot take it; the fix is trans_a.
TEST_F(CpuErrors, GemmNonUnitLastStride) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::gemm, ops::GemmArgs{f32({5, 3}).transpose(0, 1), f32({5, 7}), f32({3, 7})});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("operand a (f32 (3, 5) on cpu, strides (1, 3))"),
                                 HasSubstr("last-dimension stride of 3"), HasSubstr("trans_a"))));
}

// BLAS and a strided copy give silently wrong results when the output overlaps an input.
TEST_F(CpuErrors, OverlappingOutputs) {
  const Tensor square = f32({4, 4});
  EXPECT_THAT(
      [&] {
        backend->run(ops::gemm, ops::GemmArgs{square, f32({4, 4}), square});
      },
      ThrowsMessage<Error>(HasSubstr("gemm: output c (f32 (4, 4) on cpu) overlaps input a")));
  const Tensor row = f32({9});
  EXPECT_THAT(
      [&] {
        backend->run(ops::copy, ops::CopyArgs{row.slice(0, 0, 5), row.slice(0, 2, 5)});
      },
      ThrowsMessage<Error>(HasSubstr("copy: output dst (f32 (5) on cpu) overlaps input src")));
  backend->run(ops::copy, ops::CopyArgs{row, row});  // the same view: a no-op, allowed
  backend->run(ops::copy, ops::CopyArgs{row.slice(0, 0, 4), row.slice(0, 5, 4)});  // disjoint halves
}

TEST_F(CpuErrors, MixedDtypes) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::add, ops::BinaryArgs{backend->empty({4}, DType::f64), f32({4}), f32({4})});
      },
      ThrowsMessage<Error>(HasSubstr("add: operand a is f64 (4) on cpu but the op runs in f32")));
}

// The cross-entropy family's per-row statistics: the logits' dtype, or f32 for 16-bit logits, and one dtype
// for all the statistics of a call.
TEST_F(CpuErrors, CrossEntropyStatisticsDtype) {
  const auto t = [&](Shape shape, DType dtype) { return backend->empty(std::move(shape), dtype); };
  const Tensor targets = t({3}, DType::i32);
  backend->run(ops::fill, ops::FillArgs{targets, 0.0});
  backend->run(ops::cross_entropy, ops::CrossEntropyArgs{t({3, 8}, DType::bf16), targets, f32({3}), 8});
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy,
                     ops::CrossEntropyArgs{t({3, 8}, DType::bf16), targets, t({3}, DType::f16), 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy: losses is f16 (3) on cpu but the logits are bf16; a per-row "
                    "statistic is in the logits' dtype or f32")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::row_max, ops::RowMaxArgs{f32({3, 8}), t({3}, DType::f64), 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("row_max: out is f64 (3) on cpu but the logits are f32; a per-row statistic "
                    "is in the logits' dtype (ops::cross_entropy_stats_dtype_ok)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial,
                     ops::CrossEntropyPartialArgs{t({3, 8}, DType::f16), targets, t({3}, DType::f16),
                                                  f32({3}), f32({3}), 0, 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_partial: row_max is f16 (3) on cpu but sum_exp is f32 (3) on "
                    "cpu; the per-row statistics need one dtype")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial_backward,
                     ops::CrossEntropyPartialBackwardArgs{t({3, 8}, DType::bf16), targets, f32({3}),
                                                          t({3}, DType::bf16), t({3, 8}, DType::bf16), 0, 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_partial_backward: row_max is f32 (3) on cpu but sum_exp is "
                    "bf16 (3) on cpu; the per-row statistics need one dtype")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial_backward,
                     ops::CrossEntropyPartialBackwardArgs{t({3, 8}, DType::bf16), targets, f32({3}), f32({3}),
                                                          f32({3, 8}), 0, 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_partial_backward: operand logits is bf16 (3, 8) on cpu but the "
                    "op runs in f32")));
}

TEST_F(CpuErrors, ElementwiseShapes) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::add, ops::BinaryArgs{f32({3}), f32({4}), f32({3})});
      },
      ThrowsMessage<Error>(HasSubstr("add: b is f32 (4) on cpu (4 elements) but out is f32 (3) on cpu")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::bias_add, ops::BiasAddArgs{f32({2, 5}), f32({4}), f32({2, 5})});
      },
      ThrowsMessage<Error>(HasSubstr("bias_add: bias is f32 (4) on cpu but x is f32 (2, 5) on cpu")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::column_sum, ops::ColumnSumArgs{f32({2, 5}), f32({2})});
      },
      ThrowsMessage<Error>(HasSubstr("column_sum: out is f32 (2) on cpu but x is f32 (2, 5)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::squared_norm, ops::SquaredNormArgs{f32({2, 5}), f32({2})});
      },
      ThrowsMessage<Error>(HasSubstr("squared_norm: out is f32 (2) on cpu; it must be (1)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::gelu, ops::GeluArgs{f32({2, 5}), f32({5, 2})});
      },
      ThrowsMessage<Error>(HasSubstr("gelu: x is f32 (2, 5) on cpu but out is f32 (5, 2) on cpu")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::copy, ops::CopyArgs{f32({2, 5}), f32({10})});
      },
      ThrowsMessage<Error>(HasSubstr("copy: src is f32 (2, 5) on cpu but dst is f32 (10) on cpu")));
}

TEST_F(CpuErrors, NonContiguousWhereContiguousIsRequired) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::scale, ops::ScaleArgs{f32({4, 6}).slice(1, 0, 3), 2.0});
      },
      ThrowsMessage<Error>(
          HasSubstr("scale: operand x (f32 (4, 3) on cpu, strides (6, 1)) is not contiguous")));
}

TEST_F(CpuErrors, UndefinedAndForeignTensors) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::axpy, ops::AxpyArgs{Tensor(), f32({3})});
      },
      ThrowsMessage<Error>(HasSubstr("axpy: operand x is an undefined tensor")));
  auto meta = std::make_shared<Storage>(nullptr, 12, Device{DeviceKind::meta, 0}, nullptr);
  const Tensor foreign(meta, {3}, DType::f32);
  EXPECT_THAT(
      [&] {
        backend->run(ops::scale, ops::ScaleArgs{foreign, 2.0});
      },
      ThrowsMessage<Error>(HasSubstr("scale: operand x is f32 (3) on meta but this backend runs on cpu")));
  EXPECT_THAT([&] { backend->upload(foreign, nullptr); },
              ThrowsMessage<Error>(HasSubstr("upload: tensor f32 (3) on meta is not cpu memory")));
}

// Data-dependent errors: a token id the argument checks cannot see, reported by the kernel with its position.
TEST_F(CpuErrors, TokenOutsideTheVocabulary) {
  const Tensor tokens = to_device(*backend, {2, 3}, std::vector<std::int32_t>{0, 1, 2, 3, 4, 5});
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding, ops::EmbeddingArgs{tokens, f32({7, 4}), Tensor(), f32({2, 3, 4}), 5});
      },
      ThrowsMessage<Error>(
          AllOf(HasSubstr("backend 'cpu': embedding: tokens[1, 2] = 5 is outside [0, valid_rows) = "
                          "[0, 5) for table f32 (7, 4) on cpu"),
                HasSubstr("check the tokenizer"))));
  const Tensor negative = to_device(*backend, {2, 3}, std::vector<std::int32_t>{0, 1, 2, -1, 4, 5});
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding_backward,
                     ops::EmbeddingBackwardArgs{negative, f32({2, 3, 4}), f32({7, 4}), Tensor()});
      },
      ThrowsMessage<Error>(HasSubstr("embedding_backward: tokens[1, 0] = -1 is outside [0, rows) = [0, 7)")));
}

// In deferred mode the kernel's error reaches synchronize().
TEST(CpuDeferredErrors, TokenErrorAtSynchronize) {
  auto backend = make_backend(2, true);
  Tensor tokens = backend->empty({1, 2}, DType::i32);
  backend->run(ops::fill, ops::FillArgs{tokens, 9.0});
  backend->run(ops::embedding, ops::EmbeddingArgs{tokens, backend->empty({9, 3}, DType::f64), Tensor(),
                                                  backend->empty({1, 2, 3}, DType::f64), 9});
  EXPECT_THAT(
      [&] { backend->synchronize(); },
      ThrowsMessage<Error>(HasSubstr("embedding: tokens[0, 0] = 9 is outside [0, valid_rows) = [0, 9)")));
}

TEST_F(CpuErrors, TargetInVocabularyPadding) {
  const Tensor targets = to_device(*backend, {3}, std::vector<std::int32_t>{0, 4, 6});
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy, ops::CrossEntropyArgs{f32({3, 8}), targets, f32({3}), 6});
      },
      ThrowsMessage<Error>(HasSubstr(
          "cross_entropy: targets[2] = 6 is outside [0, valid_cols) = [0, 6) for logits f32 (3, 8) on cpu")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_backward,
                     ops::CrossEntropyBackwardArgs{f32({3, 8}), targets, f32({3, 8}), 6});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_backward: targets[2] = 6 is outside [0, valid_cols) = [0, 6)")));
}

// The vocabulary-parallel pieces given the whole vocabulary's size refuse a target beyond it (on a slice they
// could not otherwise tell a target of another slice from one of no slice), and a size too small for the
// slice.
TEST_F(CpuErrors, TargetBeyondTheVocabularyOfTheSlices) {
  const Tensor targets = to_device(*backend, {3}, std::vector<std::int32_t>{0, 4, 14});
  ops::CrossEntropyPartialArgs part{f32({3, 8}), targets, f32({3}), f32({3}), f32({3}), 8, 4, 12};
  backend->run(ops::fill, ops::FillArgs{part.logits, 0.5});
  backend->run(ops::fill, ops::FillArgs{part.row_max, 0.5});
  EXPECT_THAT(
      [&] { backend->run(ops::cross_entropy_partial, part); },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: targets[2] = 14 is outside the vocabulary "
                                     "[0, 12) (logits f32 (3, 8) on cpu)")));
  ops::CrossEntropyPartialBackwardArgs back{part.logits, targets, part.row_max, part.sum_exp, f32({3, 8}),
                                            8,           4};
  back.vocab_size = 12;
  EXPECT_THAT([&] { backend->run(ops::cross_entropy_partial_backward, back); },
              ThrowsMessage<Error>(HasSubstr("cross_entropy_partial_backward: targets[2] = 14 is outside the "
                                             "vocabulary [0, 12)")));
  part.vocab_size = 0;  // unchecked: 14 counts as another slice's
  backend->run(ops::cross_entropy_partial, part);
  part.vocab_size = 11;
  EXPECT_THAT(
      [&] { backend->run(ops::cross_entropy_partial, part); },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: vocab_size = 11 is smaller than col_offset + "
                                     "valid_cols = 12")));
  part.vocab_size = -1;
  EXPECT_THAT([&] { backend->run(ops::cross_entropy_partial, part); },
              ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: vocab_size = -1 is negative")));
  // A slice of padding only lies beyond the vocabulary (TP 4 over 256 tokens padded to 512): allowed, and
  // its targets are still checked.
  part.col_offset = 16;
  part.valid_cols = 0;
  part.vocab_size = 12;
  EXPECT_THAT([&] { backend->run(ops::cross_entropy_partial, part); },
              ThrowsMessage<Error>(HasSubstr("targets[2] = 14 is outside the vocabulary [0, 12)")));
  backend->run(ops::fill, ops::FillArgs{targets, 3.0});
  backend->run(ops::cross_entropy_partial, part);
}

TEST_F(CpuErrors, GptOpShapes) {
  const Tensor tokens = backend->empty({2, 3}, DType::i32);
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding, ops::EmbeddingArgs{tokens, f32({7, 4}), Tensor(), f32({2, 4, 3}), 7});
      },
      ThrowsMessage<Error>(
          HasSubstr("embedding: out is f32 (2, 4, 3) on cpu but must be (B, T, C) = (2, 3, 4) for "
                    "tokens i32 (2, 3) on cpu (B, T) and table f32 (7, 4) on cpu (rows, C)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding, ops::EmbeddingArgs{tokens, f32({7, 4}), f32({2, 4}), f32({2, 3, 4}), 7});
      },
      ThrowsMessage<Error>(
          HasSubstr("embedding: positions is f32 (2, 4) on cpu but must be (>= T, C) with T = 3")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding, ops::EmbeddingArgs{tokens, f32({7, 4}), Tensor(), f32({2, 3, 4}), 8});
      },
      ThrowsMessage<Error>(HasSubstr("embedding: valid_rows = 8 is outside [1, rows] = [1, 7]")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::layernorm,
                     ops::LayerNormArgs{f32({5, 7}), f32({5}), f32({7}), f32({5, 7}), f32({5}), f32({5})});
      },
      ThrowsMessage<Error>(
          HasSubstr("layernorm: gamma is f32 (5) on cpu but must be (C) = (7) for x f32 (5, 7)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::layernorm, ops::LayerNormArgs{f32({2, 5, 7}), f32({7}), f32({7}), f32({2, 5, 7}),
                                                        f32({10}), f32({10})});
      },
      ThrowsMessage<Error>(HasSubstr("layernorm: x is f32 (2, 5, 7) on cpu; it must be (N, C)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::causal_softmax, ops::CausalSoftmaxArgs{f32({2, 3, 4}), f32({2, 3, 4})});
      },
      ThrowsMessage<Error>(
          HasSubstr("causal_softmax: scores is f32 (2, 3, 4) on cpu; it must be (BH, T, T)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy,
                     ops::CrossEntropyArgs{f32({3, 8}), backend->empty({3}, DType::i64), f32({3}), 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy: operand targets is i64 (3) on cpu but token ids must be i32")));
  EXPECT_THAT(
      [&] {
        backend->run(
            ops::cross_entropy_backward,
            ops::CrossEntropyBackwardArgs{f32({3, 8}), backend->empty({4}, DType::i32), f32({3, 8}), 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_backward: targets is i32 (4) on cpu but must be (N) = (3)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::adamw, ops::AdamWArgs{f32({4}), f32({4}), f32({4}), f32({5})});
      },
      ThrowsMessage<Error>(HasSubstr("adamw: v is f32 (5) on cpu (5 elements) but param is f32 (4) on cpu")));
}

TEST_F(CpuErrors, GptOpScalars) {
  EXPECT_THAT(
      [&] {
        backend->run(ops::dropout, ops::DropoutArgs{f32({2, 3}), f32({2, 3}), 1.0});
      },
      ThrowsMessage<Error>(HasSubstr("dropout: p = 1 is outside [0, 1)")));
  // dropout_backward names its operands dy and dx.
  EXPECT_THAT(
      [&] {
        backend->run(ops::dropout_backward, ops::DropoutArgs{f32({2, 3}), f32({3, 2}), 0.5});
      },
      ThrowsMessage<Error>(
          HasSubstr("dropout_backward: dy is f32 (2, 3) on cpu but dx is f32 (3, 2) on cpu")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::adamw,
                     ops::AdamWArgs{f32({4}), f32({4}), f32({4}), f32({4}), 1e-3, 0.9, 0.999, 1e-8, 0.0, 0});
      },
      ThrowsMessage<Error>(HasSubstr("adamw: step = 0 must be >= 1")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::adamw, ops::AdamWArgs{f32({4}), f32({4}), f32({4}), f32({4}), 1e-3, 1.0});
      },
      ThrowsMessage<Error>(HasSubstr("adamw: beta1 = 1 and beta2 = 0.999 must be in [0, 1)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy,
                     ops::CrossEntropyArgs{f32({3, 8}), backend->empty({3}, DType::i32), f32({3}), 0});
      },
      ThrowsMessage<Error>(HasSubstr("cross_entropy: valid_cols = 0 is outside [1, V] = [1, 8]")));
}

// A tensor-parallel slice of the embedding table: the slice must lie in the full table, valid_rows counts the
// full table's rows, and a token outside [0, valid_rows) is still an error naming it.
TEST_F(CpuErrors, EmbeddingSlice) {
  const Tensor tokens = to_device(*backend, {2, 3}, std::vector<std::int32_t>{0, 1, 2, 3, 4, 10});
  // rows [9, 12) of a (12, 4) table with 10 valid rows: valid_rows may exceed the slice's rows.
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding,
                     ops::EmbeddingArgs{tokens, f32({3, 4}), Tensor(), f32({2, 3, 4}), 10, 9, 12});
      },
      ThrowsMessage<Error>(HasSubstr("embedding: tokens[1, 2] = 10 is outside [0, valid_rows) = [0, 10) for "
                                     "table f32 (3, 4) on cpu")));
  EXPECT_THAT(
      [&] {
        backend->run(
            ops::embedding_backward,
            ops::EmbeddingBackwardArgs{to_device(*backend, {1, 2}, std::vector<std::int32_t>{11, 12}),
                                       f32({1, 2, 4}), f32({3, 4}), Tensor(), 9, 12});
      },
      ThrowsMessage<Error>(
          HasSubstr("embedding_backward: tokens[0, 1] = 12 is outside [0, full_rows) = [0, 12)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding,
                     ops::EmbeddingArgs{tokens, f32({3, 4}), Tensor(), f32({2, 3, 4}), 10, 10, 12});
      },
      ThrowsMessage<Error>(HasSubstr(
          "embedding: table f32 (3, 4) on cpu at row_offset = 10 covers rows [10, 13) but the full "
          "table has full_rows = 12; a tensor-parallel slice needs row_offset + rows <= full_rows")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding_backward,
                     ops::EmbeddingBackwardArgs{tokens, f32({2, 3, 4}), f32({3, 4}), Tensor(), -3, 12});
      },
      ThrowsMessage<Error>(HasSubstr("embedding_backward: row_offset = -3 is negative; dtable f32 (3, 4) on "
                                     "cpu must be rows [row_offset, row_offset + rows) of the full table")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding,
                     ops::EmbeddingArgs{tokens, f32({3, 4}), Tensor(), f32({2, 3, 4}), 13, 9, 12});
      },
      ThrowsMessage<Error>(HasSubstr("embedding: valid_rows = 13 is outside [1, full_rows] = [1, 12]")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding,
                     ops::EmbeddingArgs{tokens, f32({3, 4}), Tensor(), f32({2, 3, 4}), 3, 3, 0});
      },
      ThrowsMessage<Error>(HasSubstr("embedding: row_offset = 3 but full_rows = 0 (table f32 (3, 4) on cpu "
                                     "is the whole table)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::embedding_backward,
                     ops::EmbeddingBackwardArgs{tokens, f32({2, 3, 4}), f32({3, 4}), Tensor(), 0, -12});
      },
      ThrowsMessage<Error>(HasSubstr("embedding_backward: full_rows = -12 is negative")));
}

TEST_F(CpuErrors, VocabParallelCrossEntropyArguments) {
  const Tensor targets = backend->empty({3}, DType::i32);
  backend->run(ops::fill, ops::FillArgs{targets, 0.0});
  EXPECT_THAT(
      [&] {
        backend->run(ops::row_max, ops::RowMaxArgs{f32({3, 8}), f32({4}), 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("row_max: out is f32 (4) on cpu but must be (N) = (3) for x f32 (3, 8)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::row_max, ops::RowMaxArgs{f32({3, 8}), f32({3}), 9});
      },
      ThrowsMessage<Error>(HasSubstr("row_max: valid_cols = 9 is outside [0, V] = [0, 8]")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::row_max, ops::RowMaxArgs{f32({24}), f32({3}), 8});
      },
      ThrowsMessage<Error>(HasSubstr("row_max: x is f32 (24) on cpu; it must be (N, V)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial,
                     ops::CrossEntropyPartialArgs{f32({3, 8}), backend->empty({3}, DType::i64), f32({3}),
                                                  f32({3}), f32({3}), 0, 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_partial: operand targets is i64 (3) on cpu but token ids must be i32")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial, ops::CrossEntropyPartialArgs{f32({3, 8}), targets, f32({3}),
                                                                              f32({3, 1}), f32({3}), 0, 8});
      },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: sum_exp is f32 (3, 1) on cpu but must be (N) = "
                                     "(3) for logits f32 (3, 8)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial,
                     ops::CrossEntropyPartialArgs{f32({3, 8}), targets, f32({3}), f32({3}), f32({3}), 8, 9});
      },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: valid_cols = 9 is outside [0, Vl] = [0, 8]")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial,
                     ops::CrossEntropyPartialArgs{f32({3, 8}), targets, f32({3}), f32({3}), f32({3}), -8, 8});
      },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: col_offset = -8 is negative")));
  const Tensor both = f32({3});
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial,
                     ops::CrossEntropyPartialArgs{f32({3, 8}), targets, f32({3}), both, both, 0, 8});
      },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: operands sum_exp (f32 (3) on cpu) and "
                                     "target_logit (f32 (3) on cpu) overlap")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_from_parts,
                     ops::CrossEntropyFromPartsArgs{f32({3}), f32({4}), f32({3}), f32({3})});
      },
      ThrowsMessage<Error>(HasSubstr(
          "cross_entropy_from_parts: sum_exp is f32 (4) on cpu but must be (N) = (3) for losses f32 (3)")));
  EXPECT_THAT(
      [&] {
        backend->run(
            ops::cross_entropy_from_parts,
            ops::CrossEntropyFromPartsArgs{f32({3}), f32({3}), backend->empty({3}, DType::f64), f32({3})});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_from_parts: operand target_logit is f64 (3) on cpu but the "
                    "op runs in f32 (the dtype of losses)")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial_backward,
                     ops::CrossEntropyPartialBackwardArgs{f32({3, 8}), targets, f32({3}), f32({3}),
                                                          f32({3, 7}), 0, 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_partial_backward: logits is f32 (3, 8) on cpu but dlogits "
                    "is f32 (3, 7) on cpu; they need the same shape")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial_backward,
                     ops::CrossEntropyPartialBackwardArgs{f32({3, 8}), backend->empty({2}, DType::i32),
                                                          f32({3}), f32({3}), f32({3, 8}), 0, 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_partial_backward: targets is i32 (2) on cpu but must be (N) = (3)")));
  // In place is the very same view; a partial overlap is an error.
  const Tensor buffer = f32({32});
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial_backward,
                     ops::CrossEntropyPartialBackwardArgs{buffer.sub_buffer(0, {3, 8}), targets, f32({3}),
                                                          f32({3}), buffer.sub_buffer(8, {3, 8}), 0, 8});
      },
      ThrowsMessage<Error>(
          HasSubstr("cross_entropy_partial_backward: output dlogits (f32 (3, 8) on cpu) overlaps "
                    "input logits (f32 (3, 8) on cpu) in the same buffer")));
  const Tensor negative = to_device(*backend, {3}, std::vector<std::int32_t>{0, -2, 1});
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial,
                     ops::CrossEntropyPartialArgs{f32({3, 8}), negative, f32({3}), f32({3}), f32({3}), 8, 8});
      },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial: targets[1] = -2 is negative")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::cross_entropy_partial_backward,
                     ops::CrossEntropyPartialBackwardArgs{f32({3, 8}), negative, f32({3}), f32({3}),
                                                          f32({3, 8}), 8, 8});
      },
      ThrowsMessage<Error>(HasSubstr("cross_entropy_partial_backward: targets[1] = -2 is negative")));
}

// In place is allowed where ops.hpp says so (the same view); any other overlap is an error.
TEST_F(CpuErrors, GptOpAliasing) {
  const Tensor x = f32({4, 4});
  backend->run(ops::causal_softmax, ops::CausalSoftmaxArgs{x.reshape({1, 4, 4}), x.reshape({1, 4, 4})});
  const Tensor row = f32({10});
  EXPECT_THAT(
      [&] {
        backend->run(ops::dropout,
                     ops::DropoutArgs{row.sub_buffer(0, {1, 6}), row.sub_buffer(2, {1, 6}), 0.5});
      },
      ThrowsMessage<Error>(HasSubstr("dropout: output out (f32 (1, 6) on cpu) overlaps input x")));
  EXPECT_THAT(
      [&] {
        backend->run(ops::layernorm, ops::LayerNormArgs{x, f32({4}), f32({4}), x, f32({4}), f32({4})});
      },
      ThrowsMessage<Error>(HasSubstr("layernorm: output out (f32 (4, 4) on cpu) overlaps input x")));
  const Tensor state = f32({8});
  EXPECT_THAT(
      [&] {
        backend->run(ops::adamw,
                     ops::AdamWArgs{f32({4}), f32({4}), state.sub_buffer(0, {4}), state.sub_buffer(3, {4})});
      },
      ThrowsMessage<Error>(HasSubstr("adamw: operands m (f32 (4) on cpu) and v (f32 (4) on cpu) overlap")));
}

}  // namespace
}  // namespace mtnlg::cpu::test
