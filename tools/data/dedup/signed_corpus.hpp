#pragma once
// Pass one of dedup: every document of every dataset, read once, as a reference to where it lives plus its
// MinHash signature. This is what dedup holds for the whole corpus: permutations × 8 bytes of signature and
// 32 bytes of reference per document (1,056 bytes at the default 128 permutations); the texts themselves are
// only held one batch at a time.
#include <cstdint>
#include <string>
#include <vector>

#include "jsonl_documents.hpp"
#include "minhash.hpp"
#include "shingles.hpp"

namespace mtnlg::data::dedup {

struct SignedCorpus {
  std::vector<DocumentRef> documents;      // datasets in input order, each in line order
  std::vector<std::uint64_t> signatures;   // documents.size() rows of permutations values
  std::vector<std::uint8_t> has_shingles;  // 0 for empty documents: never a duplicate, always kept
  std::vector<std::size_t> per_dataset;    // documents in each dataset
  std::size_t text_bytes = 0;
};

// Signatures are computed by `workers` threads over each batch; the result does not depend on workers.
SignedCorpus sign_corpus(const std::vector<DatasetInput>& inputs, const std::string& key,
                         const ShingleOptions& shingles, const MinHasher& hasher, int workers);

}  // namespace mtnlg::data::dedup
