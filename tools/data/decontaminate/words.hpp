#pragma once
// The word tokenisation both sides of decontamination share: task texts become n-grams of these words, and
// training documents are scanned as sequences of them, so "Hello, World!" and "hello world" match.
//
// A word is a maximal run of word bytes; everything else separates words and is dropped:
//  - ASCII letters and digits are word bytes, folded to lower case; every other ASCII byte (space,
//    punctuation, '_', control) is a separator;
//  - UTF-8 punctuation and spaces also separate: U+00A0-U+00BF (no-break space, «, », ¿, ...) and
//    U+2000-U+207F (typographic spaces, dashes, curly quotes, ellipsis);
//  - any other non-ASCII byte is a word byte (letters of other scripts stay words); Latin-1 capitals
//    U+00C0-U+00DE are folded to lower case, nothing else outside ASCII is.
// This is Megatron's `re.finditer(r"\w+", text.lower())` for English text without Python's Unicode tables.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mtnlg::data::decontaminate {

struct Word {
  std::size_t begin;  // byte offsets into the text
  std::size_t end;
  std::uint64_t hash;  // of the folded word, well mixed (n-gram hashes combine these)
};

// The words of text, in order (out is cleared first).
void split_words(std::string_view text, std::vector<Word>& out);

// The folded (lower-case) form of text[w.begin, w.end) appended to out.
void append_folded(std::string_view text, const Word& w, std::string& out);

// The words of text, folded and joined by single spaces: the canonical form of a task n-gram.
std::string joined_words(std::string_view text, const Word* first, std::size_t count);

}  // namespace mtnlg::data::decontaminate
