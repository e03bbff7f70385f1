#include "decontaminate/words.hpp"

namespace mtnlg::data::decontaminate {

namespace {

// Bytes taken by the separator at text[i], or 0 when text[i] starts (or continues) a word.
std::size_t separator_length(std::string_view text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  if (b < 0x80) return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ? 0 : 1;
  const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
  if (b == 0xC2 && next >= 0xA0 && next <= 0xBF) return 2;                           // U+00A0-U+00BF
  if (b == 0xE2 && (next == 0x80 || next == 0x81) && i + 2 < text.size()) return 3;  // U+2000-U+207F
  return 0;
}

// Calls emit(byte) for each byte of the folded word text[begin, end).
template <class Emit>
void fold(std::string_view text, std::size_t begin, std::size_t end, Emit&& emit) {
  for (std::size_t i = begin; i < end; ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b >= 'A' && b <= 'Z') {
      emit(static_cast<unsigned char>(b + 32));
    } else if (b == 0xC3 && i + 1 < end) {  // Latin-1 capitals À-Þ (but not ×) fold like ASCII ones
      const auto next = static_cast<unsigned char>(text[i + 1]);
      emit(b);
      emit(next >= 0x80 && next <= 0x9E && next != 0x97 ? static_cast<unsigned char>(next + 0x20) : next);
      ++i;
    } else {
      emit(b);
    }
  }
}

// splitmix64's finaliser: FNV-1a alone leaves the high bits of short words poorly mixed.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

void split_words(std::string_view text, std::vector<Word>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    if (const std::size_t sep = separator_length(text, i)) {
      i += sep;
      continue;
    }
    const std::size_t begin = i;
    while (i < text.size() && separator_length(text, i) == 0) ++i;
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
    fold(text, begin, i, [&](unsigned char b) { h = (h ^ b) * 0x100000001b3ULL; });
    out.push_back({begin, i, mix(h)});
  }
}

void append_folded(std::string_view text, const Word& w, std::string& out) {
  fold(text, w.begin, w.end, [&](unsigned char b) { out += static_cast<char>(b); });
}

std::string joined_words(std::string_view text, const Word* first, std::size_t count) {
  std::string out;
  for (std::size_t k = 0; k < count; ++k) {
    if (k > 0) out += ' ';
    append_folded(text, first[k], out);
  }
  return out;
}

}  // namespace mtnlg::data::decontaminate
