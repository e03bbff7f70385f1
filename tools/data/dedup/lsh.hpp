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
#include <utility>
#include <vector>

namespace mtnlg::data::dedup {

using DocId = std::uint32_t;
using CandidatePair = std::pair<DocId, DocId>;  // first < second

struct LshShape {
  int bands = 16;
  int rows = 8;
};

// signatures: one row of bands·rows values per document; only documents with `eligible` set take part
// (empty documents have no shingles and no meaningful signature). Returns distinct pairs, sorted.
std::vector<CandidatePair> candidate_pairs(std::span<const std::uint64_t> signatures, std::size_t documents,
                                           const LshShape& shape, const std::vector<std::uint8_t>& eligible);

}  // namespace mtnlg::data::dedup
