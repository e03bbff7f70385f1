#pragma once
// The whole corpus as every rank knows it after pass one: where each document lives, which are empty, how
// many each dataset has, and the global number of each of this rank's own documents. Documents are numbered
// datasets in input order, each in line order, exactly as one process numbers them; since a rank's share of
// a file is a run of lines after the shares of the ranks before it, that is dataset, then rank, then the
// rank's own order. The same number therefore names the same document whatever the number of ranks, which is
// what makes "the earliest document" (LSH buckets, the winner within a dataset) and so the outputs
// independent of it.
//
// Every rank holds the 32-byte reference and the flag of every document (33 bytes each), so that it can
// verify any candidate pair by re-reading both texts; signatures stay on the rank that computed them.
#include <cstdint>
#include <vector>

#include "jsonl_documents.hpp"
#include "lsh.hpp"
#include "rank_exchange.hpp"
#include "signed_corpus.hpp"

namespace mtnlg::data::dedup {

struct CorpusIndex {
  std::vector<DocumentRef> documents;      // all documents, in global order
  std::vector<std::uint8_t> has_shingles;  // of all documents
  std::vector<std::size_t> per_dataset;    // documents in each dataset, all ranks together
  std::vector<DocId> own_ids;              // the global number of each document of this rank's SignedCorpus
  std::size_t text_bytes = 0;              // all ranks together
};

// Collective: every rank passes its own share and gets the same index (plus its own own_ids).
CorpusIndex index_corpus(const SignedCorpus& mine, const RankExchange& ranks);

}  // namespace mtnlg::data::dedup
