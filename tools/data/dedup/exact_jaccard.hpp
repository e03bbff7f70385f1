#pragma once
// Verification: the exact Jaccard similarity of the shingle sets of document pairs, re-reading each text from
// its dataset. Pairs are expected grouped by their first document (as LSH and the duplicate report produce
// them), so a bucket's first member is read and shingled once per worker, not once per pair.
#include <string>
#include <utility>
#include <vector>

#include "jsonl_documents.hpp"
#include "lsh.hpp"
#include "shingles.hpp"

namespace mtnlg::data::dedup {

std::vector<double> exact_jaccards(const std::vector<CandidatePair>& pairs,
                                   const std::vector<DocumentRef>& documents,
                                   const std::vector<DatasetInput>& inputs, const std::string& key,
                                   const ShingleOptions& shingles, int workers);

}  // namespace mtnlg::data::dedup
