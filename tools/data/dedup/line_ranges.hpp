#pragma once
// How the ranks of a sharded dedup run split each JSONL file without reading it first: rank r of N takes the
// lines that *start* in bytes [size·r/N, size·(r+1)/N) of the file. A line belongs to exactly one rank, so
// the ranks' lines, one after another, are the file's lines in order. A rank whose byte range holds no line
// start (a line longer than the range, or more ranks than lines) owns no lines. Finding the boundaries
// reads only up to the next newline after each cut.
//
// A document is named by its physical line number, which a rank can only learn by knowing how many lines
// come before its share; each rank counts the lines in its own share (a newline scan, far cheaper than
// signing), and the counts of the ranks before it give its first line number.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <vector>

#include "jsonl_documents.hpp"
#include "rank_exchange.hpp"

namespace mtnlg::data::dedup {

struct LineRange {
  std::uint64_t begin = 0;  // offset of the first line (a line start, or the file size when empty)
  std::uint64_t end = std::numeric_limits<std::uint64_t>::max();  // the next share's begin: not included
  std::uint64_t first_line = 1;                                   // 1-based number of the line at begin
};

// Rank `rank` of `ranks`'s byte range of the file, moved to line starts; first_line is left at 1.
LineRange rank_line_range(const std::filesystem::path& path, int rank, int ranks);

// The number of lines (blank ones included) that start in [range.begin, range.end).
std::uint64_t count_lines(const std::filesystem::path& path, const LineRange& range);

// This rank's range of every input, first lines agreed with the other ranks (collective; errors such as an
// unreadable file are agreed). One process: the whole of every file, which is not opened here.
std::vector<LineRange> line_ranges_of_this_rank(const std::vector<DatasetInput>& inputs,
                                                const RankExchange& ranks);

}  // namespace mtnlg::data::dedup
