#include "shingles.hpp"

#include <algorithm>

#include "xxhash64.hpp"

namespace mtnlg::data::dedup {

namespace {

// Fixed, so that shingle sets (and hence Jaccard values) never depend on --seed; only the permutations do.
constexpr std::uint64_t kShingleSeed = 0x6D746E6C67ULL;  // "mtnlg"

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Where each unit (word or code point) of the normalised text starts, plus the end of the text, so that
// window i of `size` units is normalized[starts[i], ends[i + size - 1]).
struct Units {
  std::vector<std::size_t> starts;
  std::vector<std::size_t> ends;
};

Units words_of(const std::string& normalized) {
  Units units;
  std::size_t i = 0;
  while (i < normalized.size()) {
    const std::size_t space = std::min(normalized.find(' ', i), normalized.size());
    units.starts.push_back(i);
    units.ends.push_back(space);
    i = space + 1;
  }
  return units;
}

Units code_points_of(const std::string& normalized) {
  Units units;
  for (std::size_t i = 0; i < normalized.size(); ++i) {
    if ((static_cast<unsigned char>(normalized[i]) & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    if (!units.starts.empty()) units.ends.push_back(i);
    units.starts.push_back(i);
  }
  if (!units.starts.empty()) units.ends.push_back(normalized.size());
  return units;
}

}  // namespace

std::string normalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : ch);
  }
  return out;
}

std::vector<std::uint64_t> shingle_set(std::string_view text, const ShingleOptions& options) {
  const std::string normalized = normalize(text);
  std::vector<std::uint64_t> hashes;
  if (normalized.empty()) return hashes;
  const Units units = options.unit == ShingleUnit::word ? words_of(normalized) : code_points_of(normalized);
  const std::size_t size = static_cast<std::size_t>(std::max(options.size, 1));
  const std::string_view all(normalized);
  if (units.starts.size() <= size) {
    hashes.push_back(xxhash64(all, kShingleSeed));
    return hashes;
  }
  hashes.reserve(units.starts.size() - size + 1);
  for (std::size_t i = 0; i + size <= units.starts.size(); ++i) {
    const std::size_t begin = units.starts[i], end = units.ends[i + size - 1];
    hashes.push_back(xxhash64(all.substr(begin, end - begin), kShingleSeed));
  }
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

double jaccard(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  if (a.empty() && b.empty()) return 0.0;
  std::size_t common = 0;
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++common, ++i, ++j;
    }
  }
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

}  // namespace mtnlg::data::dedup
