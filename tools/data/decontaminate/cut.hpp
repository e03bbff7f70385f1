#pragma once
// Cutting matched n-grams out of a document, Megatron's filter_ngrams.py rule made exact:
//
//  1. Each match [begin, end) is widened by remove_chars characters (Unicode code points) on each side,
//     clamped to the text: the window [L, R).
//  2. The window is extended outward to sentence boundaries. A sentence end is '.', '!', '?' or '\n'.
//     The text before the window is kept up to and including the last sentence end at a position < L (none:
//     nothing before the window is kept); the text after it is kept from just past the first sentence end at
//     a position >= R (none: nothing after it is kept). So at least remove_chars characters go on each side
//     of the match, and every kept piece starts after a sentence end and ends with one (except at the text's
//     own start and end).
//  3. Removed ranges that overlap or touch are merged; each merged range is one split.
//  4. The pieces are the text between the removed ranges. A piece shorter than min_piece_chars characters is
//     dropped; a document with more than max_splits splits is dropped whole.
// Kept pieces are byte-for-byte substrings of the text.
#include <cstdint>
#include <string_view>
#include <vector>

#include "decontaminate/ngram_table.hpp"

namespace mtnlg::data::decontaminate {

struct CutOptions {
  std::size_t remove_chars = 200;
  std::size_t min_piece_chars = 200;
  std::size_t max_splits = 10;
};

// One merged removed range and the matches that caused it.
struct Removal {
  std::size_t begin;  // removed bytes [begin, end)
  std::size_t end;
  std::size_t match_begin;  // the union of its matches' spans
  std::size_t match_end;
  std::uint32_t first_ngram;  // the n-gram of its first match
  std::size_t matches;
};

struct Piece {
  std::size_t begin;  // bytes [begin, end) of the text
  std::size_t end;
  bool kept;  // false: shorter than min_piece_chars (or the whole document was dropped)
};

struct Cut {
  std::vector<Removal> removals;
  std::vector<Piece> pieces;  // the non-empty stretches between removals, in order
  bool too_many_splits = false;
  std::size_t kept() const;
};

// matches must be sorted by begin (NgramTable::find returns them so).
Cut cut(std::string_view text, const std::vector<Match>& matches, const CutOptions& options);

// Number of Unicode code points in text (UTF-8).
std::size_t code_points(std::string_view text);

}  // namespace mtnlg::data::decontaminate
