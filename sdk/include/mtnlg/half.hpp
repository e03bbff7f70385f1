#pragma once
// 16-bit floating storage on the host: bf16 (1 sign, 8 exponent, 7 mantissa bits: f32's range with 8
// significant bits) and f16 (IEEE binary16: 5 exponent, 10 mantissa bits, largest finite 65504). The host has
// no arithmetic on them, so code widens each element to float (exact), computes, and rounds the result back
// once, to nearest with ties to even — what the GPU's conversions (__float2bfloat16_rn, __float2half_rn) do,
// so a 16-bit run on the CPU backend rounds like one on the GPU. In the SDK because more than one plugin
// needs them: the CPU backend's kernels and comm/mpi's 16-bit reductions.
//
// The conversions are written by hand rather than with the compiler's types: GCC 12 has _Float16 but no bf16
// arithmetic or conversions, and one routine for both formats, from double, is one thing to get right and to
// test. Rounding from double directly (not through float) matters: double → float → 16 bits rounds twice,
// and a double just above a 16-bit tie would become the tie in float and then round to even, the wrong way.
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

namespace detail {

// The bits of the value of a 16-bit binary format (E exponent bits, M stored mantissa bits) nearest to x,
// ties to even; beyond the largest finite value (by half an ulp or more) ±∞, below half the smallest
// subnormal ±0, NaN a quiet NaN with the sign and the top payload bits kept.
template <int E, int M>
constexpr std::uint16_t round_to_16(double x) {
  static_assert(1 + E + M == 16);
  constexpr int kBias = (1 << (E - 1)) - 1;
  constexpr int kMaxField = (1 << E) - 1;  // the exponent field of ∞ and NaN
  constexpr auto kInf = static_cast<std::uint16_t>(kMaxField << M);
  const auto b = std::bit_cast<std::uint64_t>(x);
  const auto sign = static_cast<std::uint16_t>((b >> 48) & 0x8000u);
  const auto exponent = static_cast<int>((b >> 52) & 0x7ffu);
  const std::uint64_t mantissa = b & ((std::uint64_t{1} << 52) - 1);
  if (exponent == 0x7ff) {
    if (mantissa == 0) return sign | kInf;
    // Truncating the payload could leave no mantissa bit set (∞); the quiet bit keeps it a NaN.
    return sign | kInf | static_cast<std::uint16_t>(1u << (M - 1)) |
           static_cast<std::uint16_t>(mantissa >> (52 - M));
  }
  // f64 zeros and subnormals (< 2^-1022) are far below half of either format's smallest subnormal.
  if (exponent == 0) return sign;
  const int field = exponent - 1023 + kBias;  // x's exponent field in the format, if x is normal there
  if (field >= kMaxField) return sign | kInf;
  // |x| = significand · 2^(exponent − 1075). Keep the bits down to the format's last mantissa bit: 1 + M for
  // a normal result; for a subnormal one (field < 1) the last bit is worth 2^(1 − bias − M), so fewer.
  const std::uint64_t significand = (std::uint64_t{1} << 52) | mantissa;
  const int shift = (52 - M) + (field < 1 ? 1 - field : 0);
  if (shift > 53) return sign;  // below half the smallest subnormal (exactly half at 53, a tie to 0)
  std::uint64_t kept = significand >> shift;
  const std::uint64_t rest = significand & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t half = std::uint64_t{1} << (shift - 1);
  if (rest > half || (rest == half && (kept & 1) != 0)) ++kept;
  // A normal result's kept includes the implicit bit 2^M, so adding (field − 1) << M sets the exponent field;
  // rounding up to the next power of two carries into it (up to ∞, whose mantissa is 0). A subnormal's kept
  // is its mantissa; rounding up to 2^M gives exactly the smallest normal.
  const std::uint64_t magnitude = field < 1 ? kept : kept + (static_cast<std::uint64_t>(field - 1) << M);
  return sign | static_cast<std::uint16_t>(magnitude);
}

}  // namespace detail

// x rounded to the nearest bf16 / f16, ties to even (from float too: float → double is exact).
constexpr bf16 to_bf16(double x) {
  return bf16{detail::round_to_16<8, 7>(x)};
}
constexpr f16 to_f16(double x) {
  return f16{detail::round_to_16<5, 10>(x)};
}

// The exact value as float. bf16 is the top half of an f32 (NaN payloads included).
constexpr float to_float(bf16 v) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(v.bits) << 16);
}
constexpr float to_float(f16 v) {
  const std::uint32_t sign = static_cast<std::uint32_t>(v.bits & 0x8000u) << 16;
  const std::uint32_t field = (v.bits >> 10) & 0x1fu, mantissa = v.bits & 0x3ffu;
  if (field == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // ∞, NaN
  if (field == 0) {  // ±0 and subnormals, mantissa · 2^-24: exact in f32, whose normals reach 2^-126
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((field - 15 + 127) << 23) | (mantissa << 13));
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
