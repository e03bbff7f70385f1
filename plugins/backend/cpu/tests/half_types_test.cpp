// The 16-bit conversions of mtnlg/half.hpp: hand-picked bit patterns for every rounding case (ties to even,
// the largest finite value, overflow, NaN, subnormals, the double-rounding trap), every 16-bit value through
// float and back, every 16-bit tie and its neighbours, and many f32/f64 values against independent
// references: GCC's _Float16 for f16, and for bf16 a comparison of distances in double.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "mtnlg/half.hpp"

namespace mtnlg::cpu::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::uint16_t bits_of(_Float16 h) {
  std::uint16_t b;
  std::memcpy(&b, &h, sizeof b);
  return b;
}

_Float16 f16_from_bits(std::uint16_t b) {
  _Float16 h;
  std::memcpy(&h, &b, sizeof h);
  return h;
}

// The bf16 nearest to a finite x, found by comparing distances in double (exact here: x and its two bf16
// neighbours agree in all but their last 9 significant bits, and the neighbours' ulp is a power of two):
// the neighbour below |x| is its nearest-below f32 with the low 16 bits cleared, the one above is a bf16 ulp
// higher (2^128, "∞", above the largest finite value); ties go to the even one.
std::uint16_t bf16_nearest(double x) {
  const double magnitude = std::abs(x);
  float below = static_cast<float>(magnitude);
  if (static_cast<double>(below) > magnitude) below = std::nextafter(below, 0.0f);
  const std::uint32_t low_bits = std::bit_cast<std::uint32_t>(below) & 0xffff0000u;
  const double low = std::bit_cast<float>(low_bits);
  const int exponent = static_cast<int>(low_bits >> 23);  // 0 for subnormals, which are spaced as exponent 1
  const double ulp = std::ldexp(1.0, std::max(exponent, 1) - 127 - 7);
  const double to_low = magnitude - low, to_high = low + ulp - magnitude;
  auto bits = static_cast<std::uint16_t>(low_bits >> 16);
  if (to_high < to_low || (to_high == to_low && (bits & 1u) != 0)) ++bits;
  return static_cast<std::uint16_t>(bits | (std::signbit(x) ? 0x8000u : 0u));
}

TEST(HalfTypes, Bf16HandPicked) {
  struct Case {
    double x;
    std::uint16_t bits;
    const char* why;
  };
  const Case cases[] = {
      {1.0, 0x3f80, "one"},
      {-2.0, 0xc000, "negative"},
      {0.0, 0x0000, "+0"},
      {-0.0, 0x8000, "-0 keeps its sign"},
      {1.0 + 0x1p-8, 0x3f80, "tie between 0x3f80 and 0x3f81: to the even 0x3f80"},
      {1.0 + 3 * 0x1p-8, 0x3f82, "tie between 0x3f81 and 0x3f82: to the even 0x3f82"},
      {1.0 + 0x1p-8 + 0x1p-20, 0x3f81, "just above a tie: up"},
      {1.0 + 0x1p-8 - 0x1p-20, 0x3f80, "just below a tie: down"},
      {1.0 + 0x1p-8 + 0x1p-40, 0x3f81, "above a tie by less than an f32 ulp: rounded once, not via f32"},
      {2.0 - 0x1p-8, 0x4000, "tie above 0x3fff (odd): carries into the exponent"},
      {0x1.fep127, 0x7f7f, "largest finite"},
      {0x1.ffp127 - 0x1p100, 0x7f7f, "just below the overflow tie"},
      {0x1.ffp127, 0x7f80, "tie between the largest finite (odd) and the next power: overflows to inf"},
      {static_cast<double>(std::numeric_limits<float>::max()), 0x7f80, "f32's largest finite overflows"},
      {1e39, 0x7f80, "beyond f32"},
      {-1e300, 0xff80, "-inf"},
      {std::numeric_limits<double>::infinity(), 0x7f80, "inf"},
      {0x1p-126, 0x0080, "smallest normal"},
      {0x1p-133, 0x0001, "smallest subnormal"},
      {0x1p-134, 0x0000, "half the smallest subnormal: a tie, to the even 0"},
      {0x1.8p-134, 0x0001, "above half the smallest subnormal"},
      {-0x1p-134, 0x8000, "negative underflow keeps its sign"},
      {3 * 0x1p-134, 0x0002, "tie between subnormals 1 and 2: to 2"},
      {127.5 * 0x1p-133, 0x0080, "tie above the largest subnormal: carries into the smallest normal"},
      {1e-300, 0x0000, "far below the subnormals"},
      {std::numeric_limits<double>::denorm_min(), 0x0000, "an f64 subnormal"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(to_bf16(c.x).bits, c.bits) << c.why << " (x = " << c.x << ")";
    if (static_cast<double>(static_cast<float>(c.x)) == c.x) {
      EXPECT_EQ(to_bf16(static_cast<float>(c.x)).bits, c.bits) << c.why << " (from f32)";
    }
  }
  EXPECT_EQ(to_float(bf16{0x7f7f}), 0x1.fep127f);
  EXPECT_EQ(to_float(bf16{0x0001}), 0x1p-133f);
  EXPECT_EQ(to_float(bf16{0xff80}), -kInf);
  EXPECT_TRUE(std::signbit(to_float(bf16{0x8000})));
}

TEST(HalfTypes, F16HandPicked) {
  struct Case {
    double x;
    std::uint16_t bits;
    const char* why;
  };
  const Case cases[] = {
      {1.0, 0x3c00, "one"},
      {-2.0, 0xc000, "negative"},
      {-0.0, 0x8000, "-0 keeps its sign"},
      {1.0 + 0x1p-11, 0x3c00, "tie between 0x3c00 and 0x3c01: to the even 0x3c00"},
      {1.0 + 3 * 0x1p-11, 0x3c02, "tie between 0x3c01 and 0x3c02: to the even 0x3c02"},
      {1.0 + 0x1p-11 + 0x1p-40, 0x3c01, "above a tie by less than an f32 ulp: rounded once, not via f32"},
      {65504.0, 0x7bff, "largest finite"},
      {65519.99, 0x7bff, "just below the overflow tie"},
      {65520.0, 0x7c00, "tie between the largest finite (odd) and 65536: overflows to inf"},
      {-70000.0, 0xfc00, "-inf"},
      {1e10, 0x7c00, "far beyond"},
      {0x1p-14, 0x0400, "smallest normal"},
      {0x1p-24, 0x0001, "smallest subnormal"},
      {0x1p-25, 0x0000, "half the smallest subnormal: a tie, to the even 0"},
      {0x1.8p-25, 0x0001, "above half the smallest subnormal"},
      {3 * 0x1p-25, 0x0002, "tie between subnormals 1 and 2: to 2"},
      {5 * 0x1p-25, 0x0002, "tie between subnormals 2 and 3: to 2"},
      {1023.5 * 0x1p-24, 0x0400, "tie above the largest subnormal: carries into the smallest normal"},
      {1e-10, 0x0000, "underflow"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(to_f16(c.x).bits, c.bits) << c.why << " (x = " << c.x << ")";
    if (static_cast<double>(static_cast<float>(c.x)) == c.x) {
      EXPECT_EQ(to_f16(static_cast<float>(c.x)).bits, c.bits) << c.why << " (from f32)";
    }
  }
  EXPECT_EQ(to_float(f16{0x7bff}), 65504.0f);
  EXPECT_EQ(to_float(f16{0x0001}), 0x1p-24f);
  EXPECT_EQ(to_float(f16{0x03ff}), 1023 * 0x1p-24f);
  EXPECT_EQ(to_float(f16{0x8001}), -0x1p-24f);
  EXPECT_EQ(to_float(f16{0xfc00}), -kInf);
  EXPECT_TRUE(std::signbit(to_float(f16{0x8000})));
}

TEST(HalfTypes, NanStaysNan) {
  const double nans[] = {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN(),
                         // Signalling NaNs whose payload lies only in bits the 16-bit formats drop.
                         std::bit_cast<double>(std::uint64_t{0x7ff0000000000001}),
                         static_cast<double>(std::bit_cast<float>(std::uint32_t{0xff800001}))};
  for (double x : nans) {
    const bf16 b = to_bf16(x);
    const f16 h = to_f16(x);
    EXPECT_TRUE(std::isnan(to_float(b))) << std::hex << b.bits;
    EXPECT_TRUE(std::isnan(to_float(h))) << std::hex << h.bits;
    EXPECT_EQ(std::signbit(to_float(b)), std::signbit(x));
    EXPECT_EQ(std::signbit(to_float(h)), std::signbit(x));
  }
  // A NaN's payload survives the way back to f32 (its top bits), so a quiet NaN stays quiet.
  EXPECT_EQ(std::bit_cast<std::uint32_t>(to_float(bf16{0x7fc1})), 0x7fc10000u);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(to_float(f16{0x7e01})), 0x7fc02000u);
}

// Every 16-bit value widens exactly and rounds back to itself; f16 widens as _Float16 does.
TEST(HalfTypes, EveryValueRoundTrips) {
  for (std::uint32_t i = 0; i <= 0xffff; ++i) {
    const auto bits = static_cast<std::uint16_t>(i);
    const float b = to_float(bf16{bits}), h = to_float(f16{bits});
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(to_float(to_bf16(b)))) << std::hex << i;
    } else {
      ASSERT_EQ(to_bf16(b).bits, bits) << std::hex << i;
      ASSERT_EQ(std::bit_cast<std::uint32_t>(b), i << 16) << std::hex << i;
    }
    const float reference = static_cast<float>(f16_from_bits(bits));
    if (std::isnan(h)) {
      EXPECT_TRUE(std::isnan(reference)) << std::hex << i;
      EXPECT_TRUE(std::isnan(to_float(to_f16(h)))) << std::hex << i;
    } else {
      ASSERT_EQ(to_f16(h).bits, bits) << std::hex << i;
      ASSERT_EQ(std::bit_cast<std::uint32_t>(h), std::bit_cast<std::uint32_t>(reference)) << std::hex << i;
    }
  }
}

// f32 bit patterns spread over the whole range (every 997th), each rounded as the references round it.
TEST(HalfTypes, F32MatchesReferences) {
  for (std::uint64_t i = 0; i <= 0xffffffffu; i += 997) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(i));
    if (std::isnan(x)) continue;
    ASSERT_EQ(to_bf16(x).bits, bf16_nearest(x)) << std::hexfloat << x;
    ASSERT_EQ(to_f16(x).bits, bits_of(static_cast<_Float16>(x))) << std::hexfloat << x;
  }
}

// f64 values over both formats' ranges, many within an f32 ulp of a 16-bit tie (where rounding through f32
// would go wrong), against _Float16 (which rounds f64 once) and the distance comparison for bf16.
TEST(HalfTypes, F64MatchesReferences) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> exponent(-140, 130);
  std::uniform_real_distribution<double> unit(1.0, 2.0);
  std::uniform_int_distribution<int> nudge(-3, 3);
  for (int i = 0; i < 200000; ++i) {
    double x = std::ldexp(unit(rng), exponent(rng)) * (i % 2 == 0 ? 1 : -1);
    const bool bf = i % 6 == 0;
    const double kept = bf ? to_float(to_bf16(x)) : to_float(to_f16(x));
    if (i % 3 == 0 && kept != 0.0 && std::isfinite(kept)) {
      // Half an ulp above a normal bf16 (i % 6 == 0) or f16 value: a tie, moved by a few f64 ulps.
      x = kept + std::ldexp(1.0, std::ilogb(kept) - (bf ? 8 : 11));
      for (int k = nudge(rng); k != 0; k += k > 0 ? -1 : 1)
        x = std::nextafter(x, k > 0 ? std::numeric_limits<double>::infinity() : 0.0);
    }
    ASSERT_EQ(to_bf16(x).bits, bf16_nearest(x)) << std::hexfloat << x;
    ASSERT_EQ(to_f16(x).bits, bits_of(static_cast<_Float16>(x))) << std::hexfloat << x;
  }
}

// Every tie of both formats: the midpoint between each finite 16-bit value and the next one up (2^128 or
// 65520 after the largest, where rounding goes to ∞), exactly, and its nearest f32 and f64 neighbours on both
// sides — where a rounding's carry, its tie-breaking or a double rounding goes wrong if anything does.
TEST(HalfTypes, EveryTieAndItsNeighbours) {
  constexpr double kDoubleInf = std::numeric_limits<double>::infinity();
  for (std::uint32_t i = 0; i < 0x7fff; ++i) {
    const auto bits = static_cast<std::uint16_t>(i);
    for (const bool bf : {true, false}) {
      const double value = bf ? to_float(bf16{bits}) : to_float(f16{bits});
      if (!std::isfinite(value)) continue;
      const double next =
          bf ? (bits == 0x7f7f ? 0x1p128 : to_float(bf16{static_cast<std::uint16_t>(bits + 1)}))
             : (bits == 0x7bff ? 65536.0 : to_float(f16{static_cast<std::uint16_t>(bits + 1)}));
      const double tie = (value + next) / 2;  // exact: one bit more than the format's precision
      const auto tie_f32 = static_cast<float>(tie);
      ASSERT_EQ(static_cast<double>(tie_f32), tie) << std::hex << i;
      const float singles[] = {tie_f32, std::nextafter(tie_f32, 0.0f), std::nextafter(tie_f32, kInf)};
      const double doubles[] = {tie, std::nextafter(tie, 0.0), std::nextafter(tie, kDoubleInf)};
      // x (a float or a double) rounded by half.hpp as the format's reference rounds it.
      const auto check = [bf](auto x) {
        if (bf)
          ASSERT_EQ(to_bf16(x).bits, bf16_nearest(x)) << std::hexfloat << x;
        else
          ASSERT_EQ(to_f16(x).bits, bits_of(static_cast<_Float16>(x))) << std::hexfloat << x;
      };
      for (const float sign : {1.0f, -1.0f}) {
        for (const float x : singles) check(sign * x);
        for (const double x : doubles) check(sign * x);
      }
      ASSERT_FALSE(::testing::Test::HasFatalFailure()) << std::hex << i;
    }
  }
}

}  // namespace
}  // namespace mtnlg::cpu::test
