#include "lsh.hpp"

#include <algorithm>
#include <numeric>
#include <string_view>

#include "xxhash64.hpp"

namespace mtnlg::data::dedup {

namespace {

// One document in one band's bucket; sorting puts a bucket's members together, lowest document first.
struct BucketMember {
  std::uint64_t key = 0;
  DocId doc = 0;
  auto operator<=>(const BucketMember&) const = default;
};

std::uint64_t hash_values(std::span<const std::uint64_t> values, std::uint64_t seed) {
  // The values as bytes, so the bucket key is XXH64 over a fixed layout. Ranks exchange keys, so all ranks
  // must share one byte order (they run the same binary on one kind of machine).
  return xxhash64(std::string_view(reinterpret_cast<const char*>(values.data()), values.size_bytes()), seed);
}

// Groups documents by key and appends (first, other) for every bucket of two or more.
template <class Emit>
void link_buckets(std::vector<BucketMember>& members, Emit&& emit) {
  std::sort(members.begin(), members.end());
  for (std::size_t begin = 0; begin < members.size();) {
    std::size_t end = begin + 1;
    while (end < members.size() && members[end].key == members[begin].key) ++end;
    for (std::size_t i = begin + 1; i < end; ++i) emit(CandidatePair{members[begin].doc, members[i].doc});
    begin = end;
  }
}

// The rank that deduplicates a pair: a hash of both numbers, so the pairs of one giant bucket (all with the
// same first member) spread over the ranks that verify them.
int pair_owner(const CandidatePair& pair, int ranks) {
  std::uint64_t z = (std::uint64_t{pair.first} << 32 | pair.second) + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return static_cast<int>((z ^ (z >> 31)) % static_cast<std::uint64_t>(ranks));
}

}  // namespace

std::vector<CandidatePair> candidate_pairs(std::span<const std::uint64_t> signatures, std::size_t documents,
                                           const LshShape& shape, const std::vector<std::uint8_t>& eligible) {
  std::vector<DocId> ids(documents);
  std::iota(ids.begin(), ids.end(), DocId{0});
  return candidate_pairs(signatures, ids, shape, eligible, RankExchange());
}

std::vector<CandidatePair> candidate_pairs(std::span<const std::uint64_t> signatures,
                                           std::span<const DocId> ids, const LshShape& shape,
                                           const std::vector<std::uint8_t>& eligible,
                                           const RankExchange& ranks) {
  const std::size_t width = static_cast<std::size_t>(shape.bands) * static_cast<std::size_t>(shape.rows);
  const auto n_ranks = static_cast<std::size_t>(ranks.size());
  std::vector<std::vector<CandidatePair>> pairs(n_ranks);  // by the rank that deduplicates them
  // Band b uses seed b; the whole-signature key uses seed `bands`, so no two keys share a hash function.
  for (int band = 0; band <= shape.bands; ++band) {
    const bool whole = band == shape.bands;
    const std::size_t offset = whole ? 0 : static_cast<std::size_t>(band) * shape.rows;
    const std::size_t length = whole ? width : static_cast<std::size_t>(shape.rows);
    std::vector<std::vector<BucketMember>> by_owner(n_ranks);  // by the rank that owns the bucket
    if (n_ranks == 1) by_owner[0].reserve(ids.size());
    for (std::size_t d = 0; d < ids.size(); ++d) {
      if (!eligible[d]) continue;
      const std::uint64_t key = hash_values(signatures.subspan(d * width + offset, length), band);
      by_owner[key % n_ranks].push_back({key, ids[d]});
    }
    std::vector<BucketMember> owned = ranks.all_to_all(std::move(by_owner));
    link_buckets(owned, [&](const CandidatePair& pair) {
      pairs[n_ranks == 1 ? 0 : pair_owner(pair, ranks.size())].push_back(pair);
    });
  }
  std::vector<CandidatePair> mine = ranks.all_to_all(std::move(pairs));
  std::sort(mine.begin(), mine.end());
  mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
  return mine;
}

}  // namespace mtnlg::data::dedup
