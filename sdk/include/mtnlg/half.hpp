#pragma once
// 16-bit floating storage on the host: bf16 (1 sign, 8 exponent, 7 mantissa bits: f32's range with 8
// significant bits) and f16 (IEEE binary16: 5 exponent, 10 mantissa bits, largest finite 65504). The host has
// no arithmetic on them, so code widens each element to float (exact), computes, and rounds the result back
// once, to nearest with ties to even — what the GPU's conversions (__float2bfloat16_rn, __float2half_rn) do,
// so a 16-bit run on the CPU backend rounds like one on the GPU. In the SDK because more than one plugin
// needs them: the CPU backend's kernels and comm/mpi's 16-bit reductions.
//
// The conversions are written by hand rather than with the compiler's types: GCC 12 has _Float16 but no bf16
// arithmetic or conversions. Each format has one rounding routine, from float; a double is first rounded to
// float "to odd", which makes the pair round the double once.
#include <bit>
#include <cstdint>

#include "mtnlg/dtype.hpp"

namespace mtnlg {

// Only the bits: no arithmetic, so a kernel cannot compute in 16 bits by accident. T{} is +0.
struct bf16 {
  std::uint16_t bits;
};
struct f16 {
  std::uint16_t bits;
};

// x rounded to the nearest bf16 / f16, ties to even; beyond the largest finite value (by half an ulp or
// more) ±∞; NaN a quiet NaN with the sign and the top payload bits kept. Integer steps a compiler vectorises:
// kernels round every result they store.
constexpr bf16 to_bf16(float x) {
  const auto u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
  // bf16 is f32's top half, with f32's exponent range: adding just under half an ulp, plus the kept last bit
  // for ties, rounds to nearest even and carries into the exponent (up to ∞) where it must.
  return bf16{static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}
constexpr f16 to_f16(float x) {
  const auto u = std::bit_cast<std::uint32_t>(x);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return f16{static_cast<std::uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu))};
  if (a >= 0x47800000u) return f16{static_cast<std::uint16_t>(sign | 0x7c00u)};  // >= 2^16 (and ∞): ∞
  if (a < 0x38800000u) {
    // Below 2^-14, f16's subnormals: their grid is 2^-24, and so is the f32 ulp of 0.5, so the f32 addition
    // |x| + 0.5 rounds |x| to that grid, to nearest even; the low bits are then the f16 mantissa (0x400,
    // the smallest normal, when it rounds up).
    const float aligned = std::bit_cast<float>(a) + 0.5f;
    return f16{static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(aligned) - 0x3f000000u))};
  }
  // Normal: rebias the exponent (127 → 15) and drop 13 mantissa bits, rounding as for bf16; rounding up past
  // 65504 carries into the exponent field of ∞ with a zero mantissa.
  const std::uint32_t rounded = a - ((127u - 15u) << 23) + 0xfffu + ((a >> 13) & 1u);
  return f16{static_cast<std::uint16_t>(sign | (rounded >> 13))};
}

namespace detail {

// x rounded to f32 "to odd": toward zero, with the last bit set when inexact. f32 keeps at least two more
// bits than bf16 and f16 wherever either has values (f32's subnormals included), so rounding the result to
// the nearest 16-bit value rounds x itself once, correctly (Boldo & Melquiond, "Emulation of FMA and
// correctly rounded sums: proved algorithms using rounding to odd", 2008). Through the nearest f32 instead it
// would round twice: a double just above a 16-bit tie could become the tie, then go to even, the wrong way.
constexpr float round_to_odd_f32(double x) {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  const auto exponent = static_cast<std::uint32_t>(bits >> 52) & 0x7ffu;
  if (exponent - (1023u - 126u) <= 253u) {
    // |x| in f32's normal range: dropping the 29 mantissa bits f32 lacks is exact, and any of them set is the
    // odd last bit. Integer steps only (kernels call this per element).
    constexpr std::uint64_t kDropped = (std::uint64_t{1} << 29) - 1;
    const auto truncated = static_cast<float>(std::bit_cast<double>(bits & ~kDropped));
    return std::bit_cast<float>(std::bit_cast<std::uint32_t>(truncated) | ((bits & kDropped) != 0 ? 1u : 0u));
  }
  // Zero, f32's subnormals and beyond its largest value, ∞ and NaN: round to nearest, then if that was
  // inexact and even, step to x's other neighbour, the odd one (down in magnitude if nearest overshot x: ∞
  // becomes the largest finite f32). NaN compares unequal and may gain a low payload bit, which neither
  // format keeps.
  const float nearest = static_cast<float>(x);
  const auto nearest_bits = std::bit_cast<std::uint32_t>(nearest);
  if (static_cast<double>(nearest) == x || (nearest_bits & 1u) != 0) return nearest;
  const double magnitude = x < 0 ? -x : x, nearest_magnitude = nearest < 0 ? -nearest : nearest;
  return std::bit_cast<float>(nearest_magnitude > magnitude ? nearest_bits - 1u : nearest_bits + 1u);
}

}  // namespace detail

// The same from double, rounded once (not twice through the nearest float).
constexpr bf16 to_bf16(double x) {
  return to_bf16(detail::round_to_odd_f32(x));
}
constexpr f16 to_f16(double x) {
  return to_f16(detail::round_to_odd_f32(x));
}

// The exact value as float. bf16 is the top half of an f32 (NaN payloads included).
constexpr float to_float(bf16 v) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(v.bits) << 16);
}
constexpr float to_float(f16 v) {
  // All three forms computed and one selected, not branched to: kernels widen every element they load.
  // Normals move exponent and mantissa to f32's positions and rebias (15 → 127); subnormals are the mantissa
  // times 2^-24 (exact, and no f32 subnormal on the way, which flush-to-zero modes would read as 0); ∞ and
  // NaN take f32's top exponent with the payload.
  const std::uint32_t sign = static_cast<std::uint32_t>(v.bits & 0x8000u) << 16;
  const std::uint32_t magnitude_bits = v.bits & 0x7fffu, shifted = magnitude_bits << 13;
  const float normal = std::bit_cast<float>(shifted + ((127u - 15u) << 23));
  const float subnormal = static_cast<float>(magnitude_bits) * 0x1p-24f;
  const float special = std::bit_cast<float>(shifted | 0x7f800000u);
  const float magnitude = magnitude_bits >= 0x7c00u ? special : magnitude_bits < 0x400u ? subnormal : normal;
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(magnitude) | sign);
}

// Tensor::data_as<bf16>() checks the tensor's dtype through dtype_of.
template <>
constexpr DType dtype_of<bf16>() {
  return DType::bf16;
}
template <>
constexpr DType dtype_of<f16>() {
  return DType::f16;
}
}  // namespace mtnlg
