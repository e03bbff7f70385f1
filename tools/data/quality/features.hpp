#pragma once
// A document as the classifier sees it: lower-cased word unigrams and bigrams, hashed into `count` buckets,
// counted, and scaled to unit length (so a long document's score is not just its length).
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace mtnlg::data::quality {

// (bucket, value) pairs, buckets ascending and distinct. An empty document has none.
using SparseFeatures = std::vector<std::pair<std::uint32_t, double>>;

// A word is a maximal run of ASCII letters and digits and bytes >= 0x80 (so UTF-8 letters of any script stay
// inside words); every other byte separates words. ASCII letters are lower-cased. Unigram w hashes the bytes
// of w, bigram (w1, w2) the bytes of "w1 w2" (a space never occurs inside a word, so the two never collide by
// construction). bucket = feature_hash(...) % count.
SparseFeatures extract_features(std::string_view text, std::uint32_t count);

}  // namespace mtnlg::data::quality
