#pragma once
// LSH banding: the signature is cut into `bands` bands of `rows` values; documents whose band hashes to the
// same bucket in any band become candidate pairs. A pair of Jaccard s is a candidate with probability
// 1 − (1 − s^rows)^bands (the S-curve in README.md).
//
// Giant buckets (boilerplate shared by thousands of documents) must not cost O(k²): every bucket of k
// documents yields the k − 1 pairs (first member, other member), "first" being the lowest document index.
// That is all union-find needs to join the bucket, and it bounds candidate pairs by (bands + 1)·n.
//
// On top of the bands, one extra bucket key is the hash of the whole signature: documents with the same
// shingle set always share it, and anything else in that bucket agrees on all permutations, so exact
// duplicates are paired directly even when a band bucket's first member is an unrelated document that
// verification rejects.
#include <cstdint>
#include <span>
#include <vector>

#include "rank_exchange.hpp"

namespace mtnlg::data::dedup {

using DocId = std::uint32_t;

struct CandidatePair {
  DocId first = 0;
  DocId second = 0;  // > first
  auto operator<=>(const CandidatePair&) const = default;
};

struct LshShape {
  int bands = 16;
  int rows = 8;
};

// signatures: one row of bands·rows values per document; only documents with `eligible` set take part
// (empty documents have no shingles and no meaningful signature). Returns distinct pairs, sorted.
std::vector<CandidatePair> candidate_pairs(std::span<const std::uint64_t> signatures, std::size_t documents,
                                           const LshShape& shape, const std::vector<std::uint8_t>& eligible);

// The same over documents signed on several ranks (collective). Each rank passes the signatures, global
// numbers (ascending) and eligibility of its own documents. Each band's bucket keys go to the rank that owns
// the bucket (key mod ranks), which pairs the members exactly as above: a bucket's first member is its
// lowest global number, whichever rank signed it. The pairs then go to a rank chosen by hashing the pair, so
// that a pair found in several bands ends on one rank only. Returns this rank's distinct pairs, sorted; the
// ranks' pairs together are exactly what one process finds.
std::vector<CandidatePair> candidate_pairs(std::span<const std::uint64_t> signatures,
                                           std::span<const DocId> ids, const LshShape& shape,
                                           const std::vector<std::uint8_t>& eligible,
                                           const RankExchange& ranks);

}  // namespace mtnlg::data::dedup
