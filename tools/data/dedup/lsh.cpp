#include "lsh.hpp"

#include <algorithm>
#include <string_view>

#include "xxhash64.hpp"

namespace mtnlg::data::dedup {

namespace {

std::uint64_t hash_values(std::span<const std::uint64_t> values, std::uint64_t seed) {
  // The values as bytes, so the bucket key is XXH64 over a fixed layout; the key is only compared with other
  // keys computed on this machine in this run, so host byte order does not leak into the results.
  return xxhash64(std::string_view(reinterpret_cast<const char*>(values.data()), values.size_bytes()), seed);
}

// Groups documents by key and appends (first, other) for every bucket of two or more.
void link_buckets(std::vector<std::pair<std::uint64_t, DocId>>& keyed, std::vector<CandidatePair>& pairs) {
  std::sort(keyed.begin(), keyed.end());
  for (std::size_t begin = 0; begin < keyed.size();) {
    std::size_t end = begin + 1;
    while (end < keyed.size() && keyed[end].first == keyed[begin].first) ++end;
    for (std::size_t i = begin + 1; i < end; ++i) pairs.emplace_back(keyed[begin].second, keyed[i].second);
    begin = end;
  }
}

}  // namespace

std::vector<CandidatePair> candidate_pairs(std::span<const std::uint64_t> signatures, std::size_t documents,
                                           const LshShape& shape, const std::vector<std::uint8_t>& eligible) {
  const std::size_t width = static_cast<std::size_t>(shape.bands) * static_cast<std::size_t>(shape.rows);
  std::vector<CandidatePair> pairs;
  std::vector<std::pair<std::uint64_t, DocId>> keyed;
  keyed.reserve(documents);
  // Band b uses seed b; the whole-signature key uses seed `bands`, so no two keys share a hash function.
  for (int band = 0; band <= shape.bands; ++band) {
    keyed.clear();
    const bool whole = band == shape.bands;
    const std::size_t offset = whole ? 0 : static_cast<std::size_t>(band) * shape.rows;
    const std::size_t length = whole ? width : static_cast<std::size_t>(shape.rows);
    for (std::size_t d = 0; d < documents; ++d) {
      if (!eligible[d]) continue;
      keyed.emplace_back(hash_values(signatures.subspan(d * width + offset, length), band),
                         static_cast<DocId>(d));
    }
    link_buckets(keyed, pairs);
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return pairs;
}

}  // namespace mtnlg::data::dedup
