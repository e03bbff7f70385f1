#pragma once
// A document as a set of shingles: the text is normalised (ASCII letters lower-cased, every run of whitespace
// one space, no leading or trailing space), cut into overlapping windows of `size` words or `size` characters
// (UTF-8 code points), and each window hashed to 64 bits with XXH64. Documents are compared as sets of these
// hashes; two distinct shingles share a hash with probability ~2^-64 per pair, far below anything that
// matters.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mtnlg::data::dedup {

enum class ShingleUnit { word, character };

struct ShingleOptions {
  ShingleUnit unit = ShingleUnit::word;
  int size = 5;  // words or characters per shingle
};

// Lower-cased (ASCII only: the bytes of other UTF-8 characters are kept as they are), whitespace collapsed.
std::string normalize(std::string_view text);

// The distinct shingle hashes of the text, sorted. A text shorter than one shingle (but not empty) is one
// shingle of its whole normalised form, so short documents still match their copies; a text with nothing
// but whitespace has no shingles at all and is never anybody's duplicate.
std::vector<std::uint64_t> shingle_set(std::string_view text, const ShingleOptions& options);

// |A ∩ B| / |A ∪ B| of two sorted, distinct sets; 0 when both are empty (empty documents match nothing).
double jaccard(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b);

}  // namespace mtnlg::data::dedup
