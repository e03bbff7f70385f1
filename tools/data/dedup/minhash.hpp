#pragma once
// MinHash signatures: for each of `permutations` universal hash functions h_i(x) = (a_i·x + b_i) mod p, with
// p = 2^61 − 1 (a Mersenne prime, so the reduction is shifts and adds) and a_i, b_i drawn from `seed`, the
// signature keeps min over the document's shingles of h_i(shingle). Two documents agree on one signature
// entry with probability ≈ their Jaccard similarity, which is what LSH banding builds on.
#include <cstdint>
#include <span>
#include <vector>

namespace mtnlg::data::dedup {

class MinHasher {
 public:
  static constexpr std::uint64_t kPrime = (std::uint64_t{1} << 61) - 1;

  MinHasher(int permutations, std::uint64_t seed);

  int permutations() const { return static_cast<int>(a_.size()); }

  // Writes permutations() values into `signature`. An empty shingle set gives all kPrime (larger than any
  // hash value); callers keep such documents out of LSH.
  void sign(const std::vector<std::uint64_t>& shingles, std::span<std::uint64_t> signature) const;

 private:
  std::vector<std::uint64_t> a_;  // in [1, p): a zero multiplier would map everything to b
  std::vector<std::uint64_t> b_;  // in [0, p)
};

}  // namespace mtnlg::data::dedup
