// The SDK's own pieces: tensor views, the op table, the counter-based RNG, the value tree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "mtnlg/backend.hpp"
#include "mtnlg/config.hpp"
#include "mtnlg/rng.hpp"
#include "mtnlg/tensor.hpp"

using namespace mtnlg;
using ::testing::HasSubstr;

TEST(Tensor, ViewsShareStorageAndComputeStridesAndOffsets) {
  Tensor t = host_tensor({4, 6}, DType::f64);
  for (int i = 0; i < 24; ++i) t.data_as<double>()[i] = i;
  const Tensor s = t.slice(1, 2, 3);  // (4, 3), row stride 6
  EXPECT_EQ(s.shape(), (Shape{4, 3}));
  EXPECT_EQ(s.strides(), (Shape{6, 1}));
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_EQ(*s.data_as<double>(), 2.0);
  const Tensor tt = t.transpose(0, 1);
  EXPECT_EQ(tt.shape(), (Shape{6, 4}));
  EXPECT_EQ(tt.strides(), (Shape{1, 6}));
  const Tensor r = t.reshape({2, -1, 3});
  EXPECT_EQ(r.shape(), (Shape{2, 4, 3}));
  const Tensor b = t.sub_buffer(7, {2, 2});
  EXPECT_EQ(b.data_as<double>()[3], 10.0);
  EXPECT_EQ(b.storage(), t.storage());
}

TEST(Tensor, BadViewsAreErrorsNamingTheTensor) {
  Tensor t = host_tensor({4, 6}, DType::f32);
  EXPECT_THAT(
      [&] {
        t.reshape({5, 5});
      },
      ThrowsMessage<Error>(HasSubstr("cannot reshape f32 (4, 6) on cpu to (5, 5)")));
  EXPECT_THAT([&] { t.slice(1, 4, 3); },
              ThrowsMessage<Error>(HasSubstr("slice [4, 7) of dimension 1 out of range")));
  EXPECT_THAT([&] { t.slice(1, 0, 2).reshape({8}); },
              ThrowsMessage<Error>(HasSubstr("reshape of a non-contiguous")));
  EXPECT_THAT([&] { t.data_as<double>(); },
              ThrowsMessage<Error>(HasSubstr("tensor is f32, accessed as f64")));
  EXPECT_THAT([&] { t.sub_buffer(20, {5}); }, ThrowsMessage<Error>(HasSubstr("exceeds")));
}

TEST(Tensor, AbsurdShapesAreRefusedNotWrappedAround) {
  EXPECT_THAT(
      [] {
        shape_numel({1ll << 40, 1ll << 40});
      },
      ThrowsMessage<Error>(HasSubstr("more than 2^63 elements")));
  EXPECT_THAT([] { shape_numel({3, -1}); }, ThrowsMessage<Error>(HasSubstr("negative dimension")));
}

namespace {
struct DemoArgs {
  DType t;
  DType dtype() const { return t; }
};
constexpr OpKey<DemoArgs> demo{"demo"};
int last_kernel = 0;
void kernel_a(const DemoArgs&, ExecContext&) {
  last_kernel = 1;
}
void kernel_b(const DemoArgs&, ExecContext&) {
  last_kernel = 2;
}
}  // namespace

TEST(OpTable, KeepsAKernelPerDtypeAndRefusesASecondRegistration) {
  OpTable table;
  table.add(demo, {DType::f32}, &kernel_a);
  table.add(demo, {DType::f64}, &kernel_b);
  EXPECT_TRUE(table.supports("demo", DType::f32));
  EXPECT_FALSE(table.supports("demo", DType::i32));
  EXPECT_NE(table.require("demo", DType::f32, "b"), table.require("demo", DType::f64, "b"));
  EXPECT_EQ(table.names(), std::vector<std::string>{"demo (f32, f64)"});
  EXPECT_THAT([&] { table.add(demo, {DType::f64}, &kernel_a); },
              ThrowsMessage<Error>(HasSubstr("op 'demo' is registered twice for f64")));
  EXPECT_THAT([&] { table.require("demo", DType::i32, "backend 'x'"); },
              ThrowsMessage<Error>(
                  HasSubstr("backend 'x' does not support op 'demo' for i32; it supports: f32, f64")));
  EXPECT_THAT([&] { table.require("nope", DType::f32, "backend 'x'"); },
              ThrowsMessage<Error>(HasSubstr("backend 'x' has no op 'nope'; it provides: demo")));
}

TEST(Rng, PhiloxMatchesTheRandom123KnownAnswer) {
  // Known-answer test from the Random123 distribution (kat_vectors: philox4x32_10, all-ones counter and key).
  const auto r =
      rng::philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
  EXPECT_EQ(r, (rng::Counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  const auto z = rng::philox4x32_10({0, 0, 0, 0}, {0, 0});
  EXPECT_EQ(z, (rng::Counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
}

TEST(Rng, NormalStreamHasUnitMomentsAndDependsOnlyOnKeyAndIndex) {
  const auto key = rng::derive_key(1234, 3, "weight");
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = rng::normal(key, i);
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.01);
  EXPECT_EQ(rng::normal(key, 777), rng::normal(key, 777));
  EXPECT_NE(rng::derive_key(1234, 3, "weight"), rng::derive_key(1234, 4, "weight"));
  EXPECT_NE(rng::derive_key(1234, 3, "weight"), rng::derive_key(1234, 3, "bias"));
}

TEST(Config, ValuesPrintAsTomlAndTypedGettersNameThePosition) {
  Table t;
  t.pos = {"r.toml", 1, 1, ""};
  t.set("n", Value(std::int64_t{3}, SourcePos{"r.toml", 2, 5, ""}));
  t.set("s", Value("a\"b\x7f"));
  t.set("f", Value(1.0));
  t.set("list", Value(Array{Value(1), Value("x")}));
  EXPECT_EQ(t.find("s")->to_toml(), "\"a\\\"b\\u007f\"");
  EXPECT_EQ(t.find("f")->to_toml(), "1.0");
  EXPECT_EQ(t.find("list")->to_toml(), "[1, \"x\"]");
  EXPECT_EQ(t.get_float("n"), 3.0);
  EXPECT_THAT([&] { t.get_string("n"); },
              ThrowsMessage<Error>(HasSubstr("r.toml:2:5: expected a string, found an integer (3)")));
  EXPECT_THAT([&] { t.get_int("missing"); },
              ThrowsMessage<Error>(HasSubstr("r.toml:1:1: missing key 'missing'")));
}
