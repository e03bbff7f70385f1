#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011): the value at (key, counter) depends on
// nothing else, so every parallel layout and every recomputation draws the same numbers for the same
// (seed, layer, sample, position, feature), in any order, on any device.
#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace mtnlg::rng {

using Counter = std::array<std::uint32_t, 4>;
using Key = std::array<std::uint32_t, 2>;

constexpr Counter philox4x32_10(Counter ctr, Key key) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key = {key[0] + kW0, key[1] + kW1};
  }
  return ctr;
}

// Mixes a 64-bit value (splitmix64's finaliser): used to derive independent keys.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr std::uint64_t hash_name(std::string_view name) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// The key for one random stream: e.g. derive_key(seed, layer_index, "weight").
constexpr Key derive_key(std::uint64_t seed, std::int64_t index, std::string_view name) {
  const std::uint64_t k =
      mix64(mix64(seed) ^ mix64(static_cast<std::uint64_t>(index) + 0x51ull) ^ hash_name(name));
  return {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32)};
}

// Uniform in (0, 1] with 53 random bits, from two 32-bit words.
constexpr double to_unit(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  return (static_cast<double>(bits) + 1.0) * (1.0 / 9007199254740992.0);
}

// Element i of the standard normal stream `key` (Box–Muller on one Philox block).
inline double normal(Key key, std::uint64_t i) {
  const Counter r =
      philox4x32_10({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32), 0, 0}, key);
  const double u1 = to_unit(r[0], r[1]), u2 = to_unit(r[2], r[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Element i of the uniform (0, 1] stream `key` in a given lane (sub-stream).
constexpr double uniform(Key key, std::uint64_t i, std::uint32_t lane = 0) {
  const Counter r =
      philox4x32_10({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32), lane, 1}, key);
  return to_unit(r[0], r[1]);
}

}  // namespace mtnlg::rng
