#include "line_ranges.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::dedup {

namespace {

constexpr std::uint64_t kScanBytes = 1 << 16;

// The same message as when pass one opens the file, whichever happens first.
std::ifstream open_dataset(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  MTNLG_CHECK(in.good(), str("cannot read ", path.string(), ": no such file or not readable"));
  return in;
}

std::uint64_t size_of(std::ifstream& in) {
  in.seekg(0, std::ios::end);
  return static_cast<std::uint64_t>(in.tellg());
}

// Calls scan(bytes, count, at) for the bytes of [begin, end), in blocks, until it returns true.
template <class Scan>
void scan_bytes(std::ifstream& in, const std::filesystem::path& path, std::uint64_t begin, std::uint64_t end,
                Scan&& scan) {
  std::vector<char> block(kScanBytes);
  in.clear();
  in.seekg(static_cast<std::streamoff>(begin));
  for (std::uint64_t at = begin; at < end;) {
    const std::uint64_t want = std::min(kScanBytes, end - at);
    in.read(block.data(), static_cast<std::streamsize>(want));
    MTNLG_CHECK(static_cast<std::uint64_t>(in.gcount()) == want,
                str("cannot read ", path.string(), " at byte ", at, " (was it changed during dedup?)"));
    if (scan(block.data(), want, at)) return;
    at += want;
  }
}

// `offset` itself if a line starts there, else the byte after the next newline; the file size if none.
std::uint64_t line_start_at_or_after(std::ifstream& in, const std::filesystem::path& path, std::uint64_t size,
                                     std::uint64_t offset) {
  if (offset == 0 || offset >= size) return std::min(offset, size);
  std::uint64_t start = size;
  // From the byte before: if it is the newline, the line starts at offset.
  scan_bytes(in, path, offset - 1, size, [&](const char* bytes, std::uint64_t count, std::uint64_t at) {
    const void* newline = std::memchr(bytes, '\n', count);
    if (newline == nullptr) return false;
    start = at + static_cast<std::uint64_t>(static_cast<const char*>(newline) - bytes) + 1;
    return true;
  });
  return start;
}

// Rank r's cut, size·r/N without overflowing 64 bits for any file size.
std::uint64_t cut(std::uint64_t size, int rank, int ranks) {
  const auto r = static_cast<std::uint64_t>(rank), n = static_cast<std::uint64_t>(ranks);
  return size / n * r + size % n * r / n;
}

}  // namespace

LineRange rank_line_range(const std::filesystem::path& path, int rank, int ranks) {
  std::ifstream in = open_dataset(path);
  const std::uint64_t size = size_of(in);
  LineRange range;
  range.begin = line_start_at_or_after(in, path, size, cut(size, rank, ranks));
  range.end = rank + 1 == ranks ? size : line_start_at_or_after(in, path, size, cut(size, rank + 1, ranks));
  return range;
}

std::uint64_t count_lines(const std::filesystem::path& path, const LineRange& range) {
  std::ifstream in = open_dataset(path);
  const std::uint64_t size = size_of(in);
  const std::uint64_t end = std::min(range.end, size);
  if (range.begin >= end) return 0;
  std::uint64_t lines = 0;
  char last = '\n';
  scan_bytes(in, path, range.begin, end, [&](const char* bytes, std::uint64_t count, std::uint64_t) {
    lines += static_cast<std::uint64_t>(std::count(bytes, bytes + count, '\n'));
    last = bytes[count - 1];
    return false;
  });
  // Every line but the file's last ends with a newline; the last may not.
  return lines + (end == size && last != '\n');
}

std::vector<LineRange> line_ranges_of_this_rank(const std::vector<DatasetInput>& inputs,
                                                const RankExchange& ranks) {
  std::vector<LineRange> ranges(inputs.size());
  if (ranks.size() == 1) return ranges;
  std::vector<std::uint64_t> counts(inputs.size(), 0);
  for (std::size_t d = 0; d < inputs.size(); ++d) {
    ranks.agree(d, [&] {
      ranges[d] = rank_line_range(inputs[d].path, ranks.rank(), ranks.size());
      // Only the ranks after this one need the count; the last rank skips the scan.
      if (ranks.rank() + 1 < ranks.size()) counts[d] = count_lines(inputs[d].path, ranges[d]);
    });
  }
  const std::vector<std::uint64_t> all = ranks.all_gather<std::uint64_t>(counts);  // [rank][dataset]
  for (std::size_t d = 0; d < inputs.size(); ++d)
    for (int r = 0; r < ranks.rank(); ++r)
      ranges[d].first_line += all[static_cast<std::size_t>(r) * inputs.size() + d];
  return ranges;
}

}  // namespace mtnlg::data::dedup
