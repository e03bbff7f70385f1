#include "inspect_dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "tokenizer/gpt2_tokenizer.hpp"

namespace mtnlg::data {

namespace {

std::optional<std::size_t> parse_index(std::string_view s) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A document's tokens: all of its sequences (one for GPT data), back to back.
std::vector<std::int32_t> document_tokens(const IndexedDataset& d, std::size_t doc) {
  std::vector<std::int32_t> tokens;
  const auto lengths = d.sequence_lengths();
  const auto indices = d.document_indices();
  for (auto s = static_cast<std::size_t>(indices[doc]); s < static_cast<std::size_t>(indices[doc + 1]); ++s) {
    const auto part = d.tokens(s, 0, static_cast<std::size_t>(lengths[s]));
    tokens.insert(tokens.end(), part.begin(), part.end());
  }
  return tokens;
}

std::size_t document_length(const IndexedDataset& d, std::size_t doc) {
  std::size_t n = 0;
  const auto indices = d.document_indices();
  for (auto s = indices[doc]; s < indices[doc + 1]; ++s)
    n += static_cast<std::size_t>(d.sequence_lengths()[static_cast<std::size_t>(s)]);
  return n;
}

void write_summary(const IndexedDataset& d, std::ostream& out) {
  const std::size_t docs = d.document_count();
  std::size_t total = 0, shortest = std::numeric_limits<std::size_t>::max(), longest = 0;
  for (std::size_t i = 0; i < docs; ++i) {
    const std::size_t n = document_length(d, i);
    total += n;
    shortest = std::min(shortest, n);
    longest = std::max(longest, n);
  }
  out << "dataset:   " << d.prefix().string() << " (.bin, .idx)\n"
      << "documents: " << docs << "\n"
      << "sequences: " << d.sequence_count() << "\n"
      << "tokens:    " << total << "\n"
      << "dtype:     " << (d.token_dtype() == mtnlg::DType::u16 ? "uint16" : "int32") << "\n";
  if (docs == 0) {
    out << "document length (tokens): none (no documents)\n";
    return;
  }
  char mean[32];
  std::snprintf(mean, sizeof mean, "%.1f", static_cast<double>(total) / docs);
  out << "document length (tokens): min " << shortest << ", mean " << mean << ", max " << longest << "\n";
}

}  // namespace

DocumentRange parse_document_range(const std::string& spec, std::size_t count) {
  const auto colon = spec.find(':');
  std::optional<std::size_t> a, b;
  if (colon == std::string::npos) {
    a = parse_index(spec);
    if (a) b = *a + 1;
  } else {
    const std::string_view left(spec.data(), colon), right(spec.data() + colon + 1, spec.size() - colon - 1);
    a = left.empty() ? std::optional<std::size_t>(0) : parse_index(left);
    b = right.empty() ? std::optional<std::size_t>(count) : parse_index(right);
  }
  MTNLG_CHECK(a && b, str("--documents ", spec,
                          ": expected A:B (documents A to B-1), A:, :B or A, with A and B "
                          "non-negative integers"));
  MTNLG_CHECK(*a <= *b && *b <= count, str("--documents ", spec, " is out of range: the dataset has ", count,
                                           " documents (0 to ", count, " exclusive; A <= B <= ", count, ")"));
  return {*a, *b};
}

void inspect_dataset(const InspectOptions& options, std::ostream& out) {
  const IndexedDataset d = IndexedDataset::open(options.prefix);
  std::optional<DocumentRange> range;
  if (options.documents) range = parse_document_range(*options.documents, d.document_count());
  MTNLG_CHECK(range || !(options.tokens || options.text),
              "--tokens and --text list documents: say which with --documents A:B");
  std::optional<tokenizer::Gpt2Tokenizer> tokenizer;
  if (options.text)
    tokenizer = tokenizer::Gpt2Tokenizer::load(
        options.vocab_dir.empty() ? tokenizer::Gpt2Tokenizer::default_dir() : options.vocab_dir);
  if (options.summary || !range) write_summary(d, out);
  if (!range) return;
  for (std::size_t i = range->begin; i < range->end; ++i) {
    const auto tokens = document_tokens(d, i);
    out << "document " << i << ": " << tokens.size() << " tokens\n";
    if (options.tokens) {
      out << "  ids:";
      for (const std::int32_t t : tokens) out << ' ' << t;
      out << "\n";
    }
    if (options.text) {
      std::string text;
      try {
        text = tokenizer->decode(tokens);
      } catch (const std::exception& e) {
        fail(str(options.prefix.string(), ": document ", i, " does not decode: ", e.what()));
      }
      // As a JSON string: one line per document whatever it holds (newlines, control bytes), with text that
      // is not valid UTF-8 shown as U+FFFD.
      out << "  text: " << nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
    }
  }
}

}  // namespace mtnlg::data
