// The meta backend on its own: accounting, null data, no-op transfers, and argument checks without math.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mtnlg/ops.hpp"

#include "meta_backend.hpp"

namespace mtnlg::meta {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

std::unique_ptr<MetaBackend> make_meta() {
  const Table params, recipe;
  auto backend = std::make_unique<MetaBackend>(CreateArgs{params, recipe});
  backend->set_component_label("backend 'meta'");
  return backend;
}

void expect_stats(const AllocStats& s, std::size_t current, std::size_t peak, std::size_t total,
                  std::size_t count) {
  EXPECT_EQ(s.current_bytes, current);
  EXPECT_EQ(s.peak_bytes, peak);
  EXPECT_EQ(s.total_bytes, total);
  EXPECT_EQ(s.allocations, count);
}

TEST(MetaBackend, AllocationAccounting) {
  auto backend = make_meta();
  expect_stats(backend->alloc_stats(), 0, 0, 0, 0);
  Tensor a = backend->empty({25}, DType::f32);    // 100 bytes
  Tensor z = backend->empty({0, 7}, DType::f64);  // 0 bytes, still an allocation
  Tensor c = backend->empty({3, 3}, DType::u16);  // 18 bytes
  expect_stats(backend->alloc_stats(), 118, 118, 118, 3);
  Tensor view = a.slice(0, 3, 5);
  a = Tensor();
  expect_stats(backend->alloc_stats(), 118, 118, 118, 3);  // the view keeps the storage
  view = Tensor();
  expect_stats(backend->alloc_stats(), 18, 118, 118, 3);
  Tensor d = backend->empty({50}, DType::i64);  // 400 bytes
  expect_stats(backend->alloc_stats(), 418, 418, 518, 4);
  d = c = z = Tensor();
  expect_stats(backend->alloc_stats(), 0, 418, 518, 4);
}

// The 530B model's parameters in bf16-sized f32 terms: far more than this machine has, and free to
// "allocate".
TEST(MetaBackend, HugeAllocationsCostNothing) {
  auto backend = make_meta();
  const std::int64_t params = 530'000'000'000;
  Tensor weights = backend->empty({params}, DType::f32);
  Tensor grads = backend->empty({params}, DType::f32);
  EXPECT_EQ(backend->alloc_stats().current_bytes, 2u * 4u * static_cast<std::size_t>(params));
  EXPECT_EQ(weights.data(), nullptr);
  backend->run(ops::axpy, ops::AxpyArgs{grads, weights, -1e-4});
  backend->run(ops::squared_norm, ops::SquaredNormArgs{grads, backend->empty({1}, DType::f32)});
  backend->synchronize();
}

TEST(MetaBackend, DataIsNullAndDeviceIsMeta) {
  auto backend = make_meta();
  EXPECT_EQ(backend->device(), (Device{DeviceKind::meta, 0}));
  for (std::int64_t n : {0, 1, 1000}) {
    Tensor t = backend->empty({n, 3}, DType::f64);
    EXPECT_EQ(t.data(), nullptr);
    EXPECT_EQ(t.storage()->data(), nullptr);
    EXPECT_EQ(t.storage()->bytes(), static_cast<std::size_t>(n) * 24);
    EXPECT_EQ(t.device(), (Device{DeviceKind::meta, 0}));
    EXPECT_EQ(t.slice(0, 0, n).data(), nullptr);
  }
}

// Transfers touch neither side: null host pointers are fine, and the host buffer is left alone.
TEST(MetaBackend, TransfersDoNothing) {
  auto backend = make_meta();
  Tensor t = backend->empty({4}, DType::f32);
  backend->upload(t, nullptr);
  std::vector<float> host(4, 7.0f);
  backend->run(ops::fill, ops::FillArgs{t, 1.0});
  backend->download(host.data(), t);
  backend->synchronize();
  EXPECT_THAT(host, ::testing::Each(7.0f));
}

// Every op with valid arguments passes without touching memory.
TEST(MetaBackend, EveryOpAcceptsValidShapes) {
  auto backend = make_meta();
  Backend& b = *backend;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16}) {
    const Tensor x = b.empty({4, 3, 5}, dt), y = b.empty({4, 3, 5}, dt), bias = b.empty({5}, dt);
    for (DType to : {DType::f32, DType::f64, DType::bf16, DType::f16})
      b.run(ops::cast, ops::CastArgs{x, b.empty({4, 3, 5}, to)});
    b.run(ops::gemm, ops::GemmArgs{b.empty({4, 5, 3}, dt), b.empty({4, 7, 5}, dt), b.empty({4, 3, 7}, dt),
                                   true, true, 0.5, 1.0});
    b.run(ops::gemm,
          ops::GemmArgs{b.empty({9, 6}, dt).slice(1, 1, 5), b.empty({5, 2}, dt), b.empty({9, 2}, dt)});
    b.run(ops::fill, ops::FillArgs{x, 1.0});
    b.run(ops::copy, ops::CopyArgs{x.transpose(0, 2), b.empty({5, 3, 4}, dt)});
    b.run(ops::axpy, ops::AxpyArgs{x, y.reshape({60}), 2.0});
    b.run(ops::scale, ops::ScaleArgs{x, 2.0});
    b.run(ops::add, ops::BinaryArgs{x, y, x});
    b.run(ops::mul, ops::BinaryArgs{x, y, y});
    b.run(ops::bias_add, ops::BiasAddArgs{x, bias, x});
    b.run(ops::column_sum, ops::ColumnSumArgs{x, bias, 1.0});
    b.run(ops::squared_norm, ops::SquaredNormArgs{x, b.empty({1}, dt)});
    b.run(ops::gelu, ops::GeluArgs{x, y});
    b.run(ops::gelu_backward, ops::GeluBackwardArgs{x, y, y});
  }
  for (DType dt : {DType::i32, DType::i64, DType::u16}) {
    const Tensor t = b.empty({3, 2}, dt);
    b.run(ops::fill, ops::FillArgs{t, 7.0});
    b.run(ops::copy, ops::CopyArgs{t.transpose(0, 1), b.empty({2, 3}, dt)});
  }
  b.synchronize();
}

TEST(MetaBackend, BadGemmShapeThrowsWithTheShapes) {
  auto backend = make_meta();
  Backend& b = *backend;
  EXPECT_THAT(
      [&] {
        b.run(ops::gemm, ops::GemmArgs{b.empty({3, 5}, DType::f32), b.empty({4, 7}, DType::f32),
                                       b.empty({3, 7}, DType::f32)});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("backend 'meta': gemm: inner dimensions differ"),
                                 HasSubstr("op(a) is (M, K) = (3, 5) but op(b) is (K, N) = (4, 7)"),
                                 HasSubstr("a: f32 (3, 5) on meta"),
                                 HasSubstr("check the shapes and the trans flags"))));
  EXPECT_THAT(
      [&] {
        b.run(ops::gemm, ops::GemmArgs{b.empty({2, 2}, DType::i32), b.empty({2, 2}, DType::i32),
                                       b.empty({2, 2}, DType::i32)});
      },
      ThrowsMessage<Error>(
          HasSubstr("backend 'meta' does not support op 'gemm' for i32; it supports: f32, f64, bf16, f16")));
}

// A cpu tensor handed to the meta backend is a wiring mistake, reported as such.
TEST(MetaBackend, ForeignTensorsAreRejected) {
  auto backend = make_meta();
  const Tensor host = host_tensor({3}, DType::f32);
  EXPECT_THAT(
      [&] {
        backend->run(ops::scale, ops::ScaleArgs{host, 2.0});
      },
      ThrowsMessage<Error>(HasSubstr("scale: operand x is f32 (3) on cpu but this backend runs on meta")));
  EXPECT_THAT([&] { backend->upload(host, nullptr); },
              ThrowsMessage<Error>(HasSubstr("upload: tensor f32 (3) on cpu is not a meta tensor")));
}

TEST(MetaBackend, TensorsMayOutliveTheBackend) {
  Tensor survivor;
  {
    auto backend = make_meta();
    survivor = backend->empty({10}, DType::f32);
  }
  EXPECT_EQ(survivor.storage()->bytes(), 40u);
  survivor = Tensor();
}

}  // namespace
}  // namespace mtnlg::meta
