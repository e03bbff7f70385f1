#include "decontaminate/cut.hpp"

namespace mtnlg::data::decontaminate {

namespace {

bool continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}
bool sentence_end(char c) {
  return c == '.' || c == '!' || c == '?' || c == '\n';
}

// The byte position `chars` code points before pos (or 0).
std::size_t back(std::string_view text, std::size_t pos, std::size_t chars) {
  for (; chars > 0 && pos > 0; --chars) {
    --pos;
    while (pos > 0 && continuation(text[pos])) --pos;
  }
  return pos;
}

// The byte position `chars` code points after pos (or text.size()).
std::size_t forward(std::string_view text, std::size_t pos, std::size_t chars) {
  for (; chars > 0 && pos < text.size(); --chars) {
    ++pos;
    while (pos < text.size() && continuation(text[pos])) ++pos;
  }
  return pos;
}

// The removed range of one match: its window extended outward to sentence boundaries (cut.hpp).
std::pair<std::size_t, std::size_t> removed_range(std::string_view text, const Match& m, std::size_t chars) {
  const std::size_t window_begin = back(text, m.begin, chars);
  const std::size_t window_end = forward(text, m.end, chars);
  std::size_t begin = window_begin;
  while (begin > 0 && !sentence_end(text[begin - 1])) --begin;
  std::size_t end = window_end;
  while (end < text.size() && !sentence_end(text[end])) ++end;
  if (end < text.size()) ++end;  // the sentence end itself goes with the removed text
  return {begin, end};
}

}  // namespace

std::size_t code_points(std::string_view text) {
  std::size_t n = 0;
  for (const char c : text) n += continuation(c) ? 0 : 1;
  return n;
}

std::size_t Cut::kept() const {
  std::size_t n = 0;
  for (const auto& p : pieces) n += p.kept ? 1 : 0;
  return n;
}

Cut cut(std::string_view text, const std::vector<Match>& matches, const CutOptions& options) {
  Cut result;
  for (const Match& m : matches) {
    const auto [begin, end] = removed_range(text, m, options.remove_chars);
    if (!result.removals.empty() && begin <= result.removals.back().end) {
      Removal& r = result.removals.back();
      r.begin = std::min(r.begin, begin);
      r.end = std::max(r.end, end);
      r.match_begin = std::min(r.match_begin, m.begin);
      r.match_end = std::max(r.match_end, m.end);
      ++r.matches;
    } else {
      result.removals.push_back({begin, end, m.begin, m.end, m.ngram, 1});
    }
  }
  result.too_many_splits = result.removals.size() > options.max_splits;
  std::size_t pos = 0;
  auto add_piece = [&](std::size_t begin, std::size_t end) {
    if (begin >= end) return;
    const bool long_enough = code_points(text.substr(begin, end - begin)) >= options.min_piece_chars;
    result.pieces.push_back({begin, end, long_enough && !result.too_many_splits});
  };
  for (const Removal& r : result.removals) {
    add_piece(pos, r.begin);
    pos = r.end;
  }
  add_piece(pos, text.size());
  return result;
}

}  // namespace mtnlg::data::decontaminate
