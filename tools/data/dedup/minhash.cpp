#include "minhash.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::dedup {

namespace {

constexpr std::uint64_t kP = MinHasher::kPrime;

// SplitMix64 (Steele, Lea & Flood): a tiny, fully specified generator, so the permutations drawn from a seed
// are the same everywhere (std::uniform_int_distribution is not).
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// x mod (2^61 − 1) for any 64-bit x: 2^61 ≡ 1, so the high bits fold onto the low ones.
std::uint64_t reduce(std::uint64_t x) {
  x = (x & kP) + (x >> 61);
  return x >= kP ? x - kP : x;
}

// (a·x + b) mod p for a, x, b < p: the 122-bit product folds the same way.
std::uint64_t affine_mod_p(std::uint64_t a, std::uint64_t x, std::uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * x;
  std::uint64_t r = static_cast<std::uint64_t>(product & kP) + static_cast<std::uint64_t>(product >> 61);
  r = reduce(r);
  r += b;
  return r >= kP ? r - kP : r;
}

}  // namespace

MinHasher::MinHasher(int permutations, std::uint64_t seed) {
  MTNLG_CHECK(permutations >= 1, str("--permutations must be at least 1, got ", permutations));
  std::uint64_t state = seed;
  for (int i = 0; i < permutations; ++i) {
    a_.push_back(1 + splitmix64(state) % (kP - 1));
    b_.push_back(splitmix64(state) % kP);
  }
}

void MinHasher::sign(const std::vector<std::uint64_t>& shingles, std::span<std::uint64_t> signature) const {
  MTNLG_CHECK(signature.size() == a_.size(), "MinHash signature of the wrong size");
  std::fill(signature.begin(), signature.end(), kP);
  const std::size_t n = a_.size();
  for (const std::uint64_t shingle : shingles) {
    const std::uint64_t x = reduce(shingle);
    for (std::size_t i = 0; i < n; ++i) signature[i] = std::min(signature[i], affine_mod_p(a_[i], x, b_[i]));
  }
}

}  // namespace mtnlg::data::dedup
