#include "exact_jaccard.hpp"

#include "parallel_chunks.hpp"

namespace mtnlg::data::dedup {

std::vector<double> exact_jaccards(const std::vector<CandidatePair>& pairs,
                                   const std::vector<DocumentRef>& documents,
                                   const std::vector<DatasetInput>& inputs, const std::string& key,
                                   const ShingleOptions& shingles, int workers) {
  std::vector<double> similarity(pairs.size());
  parallel_chunks(pairs.size(), workers, [&](std::size_t begin, std::size_t end) {
    DocumentTextReader reader(inputs, key);
    DocId cached = 0;
    std::vector<std::uint64_t> first_set;
    bool have_cached = false;
    for (std::size_t i = begin; i < end; ++i) {
      const auto [a, b] = pairs[i];
      if (!have_cached || cached != a) {
        first_set = shingle_set(reader.text(documents[a]), shingles);
        cached = a, have_cached = true;
      }
      similarity[i] = jaccard(first_set, shingle_set(reader.text(documents[b]), shingles));
    }
  });
  return similarity;
}

}  // namespace mtnlg::data::dedup
