#include "corpus_index.hpp"

#include <algorithm>
#include <limits>

#include "mtnlg/error.hpp"

namespace mtnlg::data::dedup {

namespace {

// Rank-major blocks as gathered (rank 0's datasets, then rank 1's, …) copied into dataset-major order.
template <class T>
std::vector<T> dataset_major(const std::vector<T>& gathered, const std::vector<std::uint64_t>& counts,
                             const std::vector<std::uint64_t>& first, std::size_t ranks,
                             std::size_t datasets) {
  std::vector<T> ordered(gathered.size());
  std::size_t from = 0;
  for (std::size_t r = 0; r < ranks; ++r)
    for (std::size_t d = 0; d < datasets; ++d) {
      const std::size_t n = counts[r * datasets + d];
      std::copy_n(gathered.begin() + static_cast<std::ptrdiff_t>(from), n,
                  ordered.begin() + static_cast<std::ptrdiff_t>(first[r * datasets + d]));
      from += n;
    }
  return ordered;
}

}  // namespace

CorpusIndex index_corpus(const SignedCorpus& mine, const RankExchange& ranks) {
  const std::size_t datasets = mine.per_dataset.size();
  const std::size_t n_ranks = static_cast<std::size_t>(ranks.size());
  const std::vector<std::uint64_t> my_counts(mine.per_dataset.begin(), mine.per_dataset.end());
  const std::vector<std::uint64_t> counts = ranks.all_gather<std::uint64_t>(my_counts);  // [rank][dataset]

  CorpusIndex index;
  // first[rank][dataset]: the global number of that rank's first document of that dataset.
  std::vector<std::uint64_t> first(counts.size());
  std::uint64_t total = 0;
  for (std::size_t d = 0; d < datasets; ++d) {
    std::uint64_t in_dataset = 0;
    for (std::size_t r = 0; r < n_ranks; ++r) {
      first[r * datasets + d] = total;
      total += counts[r * datasets + d];
      in_dataset += counts[r * datasets + d];
    }
    index.per_dataset.push_back(in_dataset);
  }
  // Every rank sees the same total, so every rank throws (or not) together.
  if (total >= std::numeric_limits<std::uint32_t>::max()) {
    if (ranks.size() == 1) fail("more than 4 billion documents: split the corpus");
    throw AgreedFailure("more than 4 billion documents: split the corpus");
  }

  const std::size_t me = static_cast<std::size_t>(ranks.rank());
  for (std::size_t d = 0; d < datasets; ++d)
    for (std::uint64_t i = 0; i < counts[me * datasets + d]; ++i)
      index.own_ids.push_back(static_cast<DocId>(first[me * datasets + d] + i));

  if (ranks.size() == 1) {
    index.documents = mine.documents;
    index.has_shingles = mine.has_shingles;
  } else {
    index.documents =
        dataset_major(ranks.all_gather<DocumentRef>(mine.documents), counts, first, n_ranks, datasets);
    index.has_shingles =
        dataset_major(ranks.all_gather<std::uint8_t>(mine.has_shingles), counts, first, n_ranks, datasets);
  }
  index.text_bytes = ranks.sum(mine.text_bytes);
  return index;
}

}  // namespace mtnlg::data::dedup
