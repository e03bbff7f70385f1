#include "signed_corpus.hpp"

#include <limits>
#include <span>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "parallel_chunks.hpp"

namespace mtnlg::data::dedup {

void sign_dataset(const DatasetInput& input, std::uint32_t dataset, const LineRange& range,
                  const std::string& key, const ShingleOptions& shingles, const MinHasher& hasher,
                  int workers, BadLines& bad_lines, SignedCorpus& corpus) {
  MTNLG_CHECK(corpus.per_dataset.size() == dataset, "datasets must be signed in input order");
  const std::size_t width = static_cast<std::size_t>(hasher.permutations());
  JsonlLineReader reader(input.path, range.begin, range.end, range.first_line);
  std::vector<RawLine> batch;
  std::vector<std::string> texts, why;
  std::size_t count = 0;
  while (reader.next_batch(batch)) {
    // Parsed by the workers; bad lines then judged in line order, so the first one is the one reported.
    texts.assign(batch.size(), {});
    why.assign(batch.size(), {});
    parallel_chunks(batch.size(), workers, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) parse_document_text(batch[i].bytes, key, texts[i], why[i]);
    });
    std::size_t good = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!why[i].empty()) {
        bad_lines.reject(str(input.path.string(), ":", batch[i].line), why[i]);
        continue;
      }
      if (good != i) {
        batch[good] = std::move(batch[i]);
        texts[good] = std::move(texts[i]);
      }
      ++good;
    }
    batch.resize(good);
    const std::size_t first = corpus.documents.size();
    // Document indices are 32-bit (DocId) to halve the memory of the LSH and union-find passes. (Checked
    // here to fail early; the total over all ranks is checked when they are numbered.)
    MTNLG_CHECK(first + batch.size() < std::numeric_limits<std::uint32_t>::max(),
                "more than 4 billion documents: split the corpus");
    corpus.documents.resize(first + batch.size());
    corpus.signatures.resize((first + batch.size()) * width);
    corpus.has_shingles.resize(first + batch.size());
    parallel_chunks(batch.size(), workers, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) {
        const RawLine& raw = batch[i];
        const auto set = shingle_set(texts[i], shingles);
        corpus.documents[first + i] = DocumentRef{dataset, raw.line, raw.offset, raw.bytes.size()};
        corpus.has_shingles[first + i] = !set.empty();
        hasher.sign(set, std::span(corpus.signatures).subspan((first + i) * width, width));
      }
    });
    for (const RawLine& raw : batch) corpus.text_bytes += raw.bytes.size();
    count += batch.size();
  }
  corpus.per_dataset.push_back(count);
}

}  // namespace mtnlg::data::dedup
