#pragma once
// Pass one of dedup: the documents of this rank's share of every dataset (all of them with one process), read
// once, as a reference to where each lives plus its MinHash signature. This is what a rank holds for its
// share: permutations × 8 bytes of signature and 32 bytes of reference per document (1,056 bytes at the
// default 128 permutations); the texts themselves are only held one batch at a time.
#include <cstdint>
#include <string>
#include <vector>

#include "io/bad_lines.hpp"
#include "jsonl_documents.hpp"
#include "line_ranges.hpp"
#include "minhash.hpp"
#include "shingles.hpp"

namespace mtnlg::data::dedup {

struct SignedCorpus {
  std::vector<DocumentRef> documents;      // datasets in input order, each in line order
  std::vector<std::uint64_t> signatures;   // documents.size() rows of permutations values
  std::vector<std::uint8_t> has_shingles;  // 0 for empty documents: never a duplicate, always kept
  std::vector<std::size_t> per_dataset;    // documents in each dataset signed so far
  std::size_t text_bytes = 0;
};

// Appends the documents of `range` of dataset number `dataset` (the next one: datasets are signed in input
// order). Signatures are computed by `workers` threads over each batch; the result does not depend on
// workers. A line that is not a JSON object with a string field `key` goes to `bad_lines`: an error naming
// FILE:LINE (the first such line of the range), or skipped (not a document).
void sign_dataset(const DatasetInput& input, std::uint32_t dataset, const LineRange& range,
                  const std::string& key, const ShingleOptions& shingles, const MinHasher& hasher,
                  int workers, BadLines& bad_lines, SignedCorpus& corpus);

}  // namespace mtnlg::data::dedup
