#include "tokenizer/gpt2_tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::tokenizer {
namespace {

// GPT-2 spells every byte as a printable character, so that tokens never hold spaces or control codes: the
// printable Latin-1 bytes stand for themselves, the others for U+0100, U+0101, ... in byte order.
std::array<char32_t, 256> byte_characters() {
  std::array<char32_t, 256> characters{};
  char32_t next = 0x100;
  for (unsigned b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    characters[b] = printable ? char32_t(b) : next++;
  }
  return characters;
}

std::string utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
  return out;
}

// encoder.json was parsed by nlohmann::json, which accepts only valid UTF-8, so no checks are needed here.
std::u32string code_points(std::string_view s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const int length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (int k = 1; k < length; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out += c;
    i += length;
  }
  return out;
}

// Python's regex module, which GPT-2's encoder.py uses, and tiktoken both take \s to be Unicode's White_Space
// property. PCRE2's \s adds U+180E and JavaScript's drops U+0085 and adds U+FEFF, so the class is spelt out.
constexpr std::string_view kSpace =
    R"(\t-\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F})"
    R"(\x{205F}\x{3000})";

std::string pre_tokenizer_pattern() {
  const std::string space = mtnlg::str("[", kSpace, "]");
  const std::string not_space = mtnlg::str("[^", kSpace, "]");
  return mtnlg::str("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^", kSpace, "\\p{L}\\p{N}]+|", space,
                    "+(?!", not_space, ")|", space, "+");
}

std::string pcre2_message(int code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  pcre2_get_error_message(code, buffer.data(), buffer.size());
  return reinterpret_cast<const char*>(buffer.data());
}

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

struct Merge {
  std::int32_t rank;
  std::int32_t id;  // of the merged token
};

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
}

// One symbol of a word during BPE, in a doubly linked list so that merging is O(1). id -1: merged away.
struct Symbol {
  std::int32_t id;
  std::int32_t prev;
  std::int32_t next;
};

// A mergeable pair at `pos` as it was when found; it is stale once either symbol has changed.
struct Candidate {
  std::int32_t rank;
  std::int32_t pos;
  std::int32_t left;
  std::int32_t right;
  std::int32_t merged;
};

// Orders the heap lowest rank first and, within a rank, leftmost first: the order in which encoder.py merges.
bool later(const Candidate& a, const Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
}

// Word -> ids, for words seen before. Open addressing over a power-of-two table, with the words and ids in
// flat arrays: a hit is a hash, a probe or two and a memcmp, with no prime modulo or node chain to follow,
// which made encoding the Bible a quarter faster than with std::unordered_map. It grows as needed up to a
// bound and then starts over, and holds only short words, so no text can make it grow without limit.
class WordCache {
 public:
  static constexpr std::size_t kMaxWords = 1 << 16;
  static constexpr std::size_t kMaxWordBytes = 64;

  // The ids of `word`, if cached; `hash` is hash(word).
  std::optional<std::span<const std::int32_t>> find(std::string_view word, std::uint64_t hash) const {
    if (slots_.empty()) return std::nullopt;
    for (std::size_t i = hash & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& slot = slots_[i];
      if (slot.word_size == 0) return std::nullopt;
      if (slot.hash == std::uint32_t(hash) && slot.word_size == word.size() &&
          std::memcmp(words_.data() + slot.word, word.data(), word.size()) == 0) {
        return std::span(ids_).subspan(slot.ids, slot.id_count);
      }
    }
  }

  void insert(std::string_view word, std::uint64_t hash, std::span<const std::int32_t> ids) {
    if (word.size() > kMaxWordBytes) return;
    if (2 * (size_ + 1) > slots_.size()) {
      if (size_ == kMaxWords) {
        clear();
      } else {
        grow();
      }
    }
    place({std::uint32_t(hash), std::uint32_t(words_.size()), std::uint32_t(ids_.size()),
           std::uint16_t(word.size()), std::uint16_t(ids.size())});
    words_.append(word);
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    ++size_;
  }

  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    words_.clear();
    ids_.clear();
    size_ = 0;
  }

  // Eight bytes at a time with a multiply-xorshift mix: words are short, and hashing is much of a hit's cost.
  static std::uint64_t hash(std::string_view word) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ word.size();
    std::size_t i = 0;
    for (; i + 8 <= word.size(); i += 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, word.data() + i, 8);
      h = (h ^ chunk) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, word.data() + i, word.size() - i);
    h = (h ^ tail) * 0x94D049BB133111EBull;
    return h ^ (h >> 32);
  }

 private:
  struct Slot {
    std::uint32_t hash = 0;       // the low half of the word's hash, which also picks the first slot
    std::uint32_t word = 0;       // offset in words_
    std::uint32_t ids = 0;        // offset in ids_
    std::uint16_t word_size = 0;  // 0: empty (cached words have two bytes or more)
    std::uint16_t id_count = 0;
  };

  void place(const Slot& slot) {
    std::size_t i = slot.hash & (slots_.size() - 1);
    while (slots_[i].word_size != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = slot;
  }

  void grow() {
    std::vector<Slot> old(std::max<std::size_t>(1024, 2 * slots_.size()));
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.word_size != 0) place(slot);
    }
  }

  std::vector<Slot> slots_;
  std::string words_;
  std::vector<std::int32_t> ids_;
  std::size_t size_ = 0;
};

// Per-thread state, so that concurrent encode() calls share nothing mutable.
struct ThreadState {
  std::uint64_t vocab_serial = 0;  // the vocabulary the cache belongs to
  WordCache words;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match{pcre2_match_data_create(1, nullptr)};
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::vector<Candidate> pending;
};

ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

// Serials are never reused, unlike addresses, so a cache can never be taken for another vocabulary's.
std::atomic<std::uint64_t> next_vocab_serial{1};

// Reads encoder.json's {"token": id, ...} into a list without building a JSON tree, which would take most of
// load()'s time. Anything else is a problem, reported in words.
class EncoderReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::pair<std::string, std::int64_t>> entries;
  std::string problem;

  bool null() override { return unexpected("null"); }
  bool boolean(bool) override { return unexpected("a boolean"); }
  bool number_integer(number_integer_t id) override { return add(id); }
  bool number_unsigned(number_unsigned_t id) override {
    return add(id <= std::uint64_t(INT64_MAX) ? std::int64_t(id) : -1);
  }
  bool number_float(number_float_t, const string_t&) override {
    return unexpected("a number with a fraction");
  }
  bool string(string_t&) override { return unexpected("a string"); }
  bool binary(binary_t&) override { return unexpected("binary data"); }
  bool start_object(std::size_t) override { return depth_++ == 0 || unexpected("an object"); }
  bool key(string_t& key) override {
    key_ = std::move(key);
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return unexpected("an array"); }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) override {
    problem = mtnlg::str("invalid JSON: ", e.what());
    return false;
  }

 private:
  bool add(std::int64_t id) {
    if (depth_ != 1) return unexpected("a number");
    entries.emplace_back(std::move(key_), id);
    return true;
  }
  bool unexpected(const char* what) {
    problem = depth_ == 0 ? mtnlg::str("expected a JSON object that maps tokens to ids, not ", what)
                          : mtnlg::str("token '", key_, "' has ", what, " for its id, not an integer");
    return false;
  }

  int depth_ = 0;
  std::string key_;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) mtnlg::fail(mtnlg::str(path.string(), ": cannot open (", std::strerror(errno), ")"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) mtnlg::fail(mtnlg::str(path.string(), ": cannot read"));
  return std::move(text).str();
}

}  // namespace

struct Gpt2Tokenizer::Vocab {
  std::uint64_t serial = next_vocab_serial.fetch_add(1);
  std::int32_t eod = -1;
  std::array<std::int32_t, 256> byte_ids{};
  std::unordered_map<std::uint64_t, Merge> merges;  // (left id, right id) -> rank and merged id
  std::string token_bytes;                          // every token's bytes, in id order
  std::vector<std::uint32_t> token_offsets;         // token id's bytes: [offsets[id], offsets[id + 1])
  std::unique_ptr<pcre2_code, CodeDeleter> pattern;
  bool jit = false;  // pattern is JIT-compiled: pcre2_jit_match skips pcre2_match's checks

  std::int32_t size() const { return std::int32_t(token_offsets.size() - 1); }

  // encoder.py's bpe(): repeatedly merge every occurrence of the lowest-ranked adjacent pair, left to right.
  // A heap makes this O(n log n) rather than O(n^2), so that a megabyte without spaces is no problem. Pairs
  // that a merge creates wait in `pending` until the current rank is done, as they do in encoder.py's loop.
  void bpe(std::string_view word, ThreadState& t, std::vector<std::int32_t>& out) const {
    const auto n = std::int32_t(word.size());
    std::vector<Symbol>& symbols = t.symbols;
    symbols.resize(word.size());
    for (std::int32_t i = 0; i < n; ++i) {
      symbols[i] = {byte_ids[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1};
    }
    const auto find_candidate = [&](std::int32_t pos, std::vector<Candidate>& into) {
      const Symbol& left = symbols[pos];
      const Symbol& right = symbols[left.next];
      if (const auto merge = merges.find(pair_key(left.id, right.id)); merge != merges.end()) {
        into.push_back({merge->second.rank, pos, left.id, right.id, merge->second.id});
      }
    };
    t.heap.clear();
    t.pending.clear();
    for (std::int32_t i = 0; i + 1 < n; ++i) find_candidate(i, t.heap);
    std::make_heap(t.heap.begin(), t.heap.end(), later);
    std::int32_t rank = -1;
    while (true) {
      if (!t.pending.empty() && (t.heap.empty() || t.heap.front().rank != rank)) {
        for (const Candidate& c : t.pending) {
          t.heap.push_back(c);
          std::push_heap(t.heap.begin(), t.heap.end(), later);
        }
        t.pending.clear();
      }
      if (t.heap.empty()) break;
      std::pop_heap(t.heap.begin(), t.heap.end(), later);
      const Candidate c = t.heap.back();
      t.heap.pop_back();
      Symbol& left = symbols[c.pos];
      if (left.id != c.left || left.next < 0 || symbols[left.next].id != c.right) continue;
      rank = c.rank;
      Symbol& right = symbols[left.next];
      left.id = c.merged;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = c.pos;
      right.id = -1;
      if (left.prev >= 0) find_candidate(left.prev, t.pending);
      if (left.next >= 0) find_candidate(c.pos, t.pending);
    }
    for (std::int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
  }

  void encode_word(std::string_view word, ThreadState& t, std::vector<std::int32_t>& out) const {
    if (word.size() == 1) {
      out.push_back(byte_ids[static_cast<unsigned char>(word[0])]);
      return;
    }
    const std::uint64_t hash = WordCache::hash(word);
    if (const auto ids = t.words.find(word, hash)) {
      out.insert(out.end(), ids->begin(), ids->end());
      return;
    }
    const std::size_t first = out.size();
    bpe(word, t, out);
    t.words.insert(word, hash, std::span(out).subspan(first));
  }
};

Gpt2Tokenizer Gpt2Tokenizer::load(const std::filesystem::path& dir) {
  auto vocab = std::make_shared<Vocab>();
  const std::array<char32_t, 256> characters = byte_characters();

  const std::filesystem::path encoder_path = dir / "encoder.json";
  const std::string where = encoder_path.string();
  EncoderReader reader;
  if (!nlohmann::json::sax_parse(read_file(encoder_path), &reader))
    mtnlg::fail(mtnlg::str(where, ": ", reader.problem));
  const auto size = std::int64_t(reader.entries.size());
  std::vector<const std::string*> tokens(reader.entries.size(), nullptr);
  std::unordered_map<std::string_view, std::int32_t> ids;
  ids.reserve(reader.entries.size());
  for (const auto& [token, id] : reader.entries) {
    if (id < 0 || id >= size) {
      mtnlg::fail(mtnlg::str(where, ": token '", token, "' has id ", id, "; the ids of ", size,
                             " tokens must be 0 to ", size - 1));
    }
    if (tokens[id])
      mtnlg::fail(mtnlg::str(where, ": id ", id, " is given to '", *tokens[id], "' and '", token, "'"));
    tokens[id] = &token;
    if (!ids.emplace(token, std::int32_t(id)).second)
      mtnlg::fail(mtnlg::str(where, ": token '", token, "' appears twice"));
  }

  // Each token's bytes, by undoing the byte-to-character mapping (whose characters are all below U+0144).
  std::array<int, 0x144> byte_of{};
  byte_of.fill(-1);
  for (unsigned b = 0; b < 256; ++b) byte_of[characters[b]] = int(b);
  vocab->token_offsets.reserve(tokens.size() + 1);
  vocab->token_offsets.push_back(0);
  for (const std::string* token : tokens) {
    for (const char32_t c : code_points(*token)) {
      if (c >= byte_of.size() || byte_of[c] < 0) {
        mtnlg::fail(mtnlg::str(where, ": token '", *token, "' holds U+", std::hex, std::uppercase,
                               std::uint32_t(c), ", which is not one of GPT-2's byte characters"));
      }
      vocab->token_bytes += char(byte_of[c]);
    }
    vocab->token_offsets.push_back(std::uint32_t(vocab->token_bytes.size()));
  }
  for (unsigned b = 0; b < 256; ++b) {
    const auto id = ids.find(utf8(characters[b]));
    if (id == ids.end()) {
      mtnlg::fail(mtnlg::str(where, ": no token for byte ", b, " (spelt '", utf8(characters[b]), "')"));
    }
    vocab->byte_ids[b] = id->second;
  }
  const auto eod = ids.find("<|endoftext|>");
  if (eod == ids.end()) mtnlg::fail(mtnlg::str(where, ": no '<|endoftext|>' token"));
  vocab->eod = eod->second;

  const std::filesystem::path merges_path = dir / "vocab.bpe";
  const std::string text = read_file(merges_path);
  std::string_view rest = text;
  std::int32_t rank = 0;
  std::string merged;
  for (int line_number = 1; !rest.empty(); ++line_number) {
    const std::size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line_number == 1 && line.starts_with("#version")) continue;
    std::vector<std::string_view> fields;
    for (std::size_t i = 0; i < line.size();) {
      const std::size_t start = line.find_first_not_of(" \t", i);
      if (start == std::string_view::npos) break;
      const std::size_t stop = std::min(line.find_first_of(" \t", start), line.size());
      fields.push_back(line.substr(start, stop - start));
      i = stop;
    }
    if (fields.empty()) continue;  // blank lines, such as the one after the final newline
    const auto at = [&] { return mtnlg::str(merges_path.string(), ":", line_number, ": "); };
    if (fields.size() != 2) {
      mtnlg::fail(mtnlg::str(at(), "expected two tokens separated by a space, got '", line, "'"));
    }
    std::array<std::int32_t, 2> parts{};
    for (int k = 0; k < 2; ++k) {
      const auto id = ids.find(fields[k]);
      if (id == ids.end())
        mtnlg::fail(mtnlg::str(at(), "merge of unknown token '", fields[k], "' (not in encoder.json)"));
      parts[k] = id->second;
    }
    merged.assign(fields[0]).append(fields[1]);
    const auto merged_id = ids.find(merged);
    if (merged_id == ids.end()) {
      mtnlg::fail(mtnlg::str(at(), "merging '", fields[0], "' and '", fields[1], "' makes '", merged,
                             "', which is not in encoder.json"));
    }
    // A pair listed twice keeps its last rank, as the dict that encoder.py builds from the list does.
    vocab->merges.insert_or_assign(pair_key(parts[0], parts[1]), Merge{rank++, merged_id->second});
  }

  const std::string pattern = pre_tokenizer_pattern();
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  // MATCH_INVALID_UTF: bytes that are not valid UTF-8 match no part of the pattern instead of failing the
  // match, so encode() finds them between matches and encodes them as they are.
  vocab->pattern.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &error_offset,
                                     nullptr));
  if (!vocab->pattern) {
    mtnlg::fail(
        mtnlg::str("GPT-2 pre-tokenizer pattern: ", pcre2_message(error), " at offset ", error_offset));
  }
  // Without a JIT (an unsupported CPU), pcre2_match interprets the pattern: slower, same matches.
  vocab->jit = pcre2_jit_compile(vocab->pattern.get(), PCRE2_JIT_COMPLETE) == 0;
  return Gpt2Tokenizer(std::move(vocab));
}

std::filesystem::path Gpt2Tokenizer::default_dir() {
  return MTNLG_GPT2_VOCAB_DIR;
}

std::vector<std::int32_t> Gpt2Tokenizer::encode(std::string_view text) const {
  ThreadState& t = thread_state();
  if (t.vocab_serial != vocab_->serial) {
    t.words.clear();
    t.vocab_serial = vocab_->serial;
  }
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 4 + 1);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const auto search = vocab_->jit ? pcre2_jit_match : pcre2_match;
  for (std::size_t pos = 0; pos < text.size();) {
    const int rc = search(vocab_->pattern.get(), subject, text.size(), pos, 0, t.match.get(), nullptr);
    std::size_t start = text.size();
    std::size_t end = text.size();
    if (rc > 0) {
      const PCRE2_SIZE* found = pcre2_get_ovector_pointer(t.match.get());
      start = found[0];
      end = found[1];
    } else if (rc != PCRE2_ERROR_NOMATCH) {
      mtnlg::fail(mtnlg::str("GPT-2 pre-tokenizer: ", pcre2_message(rc), " at byte ", pos));
    }
    // Every valid character starts a match, so what the search skipped is bytes that are not valid UTF-8.
    if (start > pos) vocab_->encode_word(text.substr(pos, start - pos), t, ids);
    if (end > start) vocab_->encode_word(text.substr(start, end - start), t, ids);
    pos = end;
  }
  return ids;
}

std::string Gpt2Tokenizer::decode(std::span<const std::int32_t> ids) const {
  std::string text;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int32_t id = ids[i];
    if (id < 0 || id >= vocab_->size()) {
      mtnlg::fail(mtnlg::str("GPT-2 decode: id ", id, " at position ", i, " is outside the vocabulary (0 to ",
                             vocab_->size() - 1, ")"));
    }
    const std::uint32_t begin = vocab_->token_offsets[id];
    text.append(vocab_->token_bytes, begin, vocab_->token_offsets[id + 1] - begin);
  }
  return text;
}

std::int32_t Gpt2Tokenizer::eod() const {
  return vocab_->eod;
}

std::int32_t Gpt2Tokenizer::vocab_size() const {
  return vocab_->size();
}

}  // namespace mtnlg::tokenizer
