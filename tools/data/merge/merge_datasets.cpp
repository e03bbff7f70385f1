#include "merge_datasets.hpp"

#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

namespace {

const char* dtype_words(mtnlg::DType t) {
  return t == mtnlg::DType::u16 ? "uint16" : "int32";
}

}  // namespace

MergeReport merge_datasets(const std::vector<std::filesystem::path>& inputs,
                           const std::filesystem::path& output_prefix) {
  MTNLG_CHECK(!inputs.empty(), "merge needs at least one --input");
  MTNLG_CHECK(!output_prefix.empty(), "--output-prefix is required");
  std::vector<IndexedDataset> datasets;
  MergeReport report;
  for (const auto& prefix : inputs) {
    datasets.push_back(IndexedDataset::open(prefix));
    const IndexedDataset& d = datasets.back();
    const IndexedDataset& first = datasets.front();
    MTNLG_CHECK(d.token_dtype() == first.token_dtype(),
                str("cannot merge datasets of different token types: ", first.prefix().string(),
                    ".idx holds ", dtype_words(first.token_dtype()), " tokens but ", prefix.string(),
                    ".idx holds ", dtype_words(d.token_dtype()), " tokens"));
    const auto doc = d.document_indices();
    for (std::size_t i = 0; i < doc.size(); ++i)
      MTNLG_CHECK(
          doc[i] == static_cast<std::int64_t>(i),
          str(prefix.string(), ".idx: document ", i == 0 ? 0 : i - 1, " is not exactly one sequence (",
              d.document_count(), " documents in ", d.sequence_count(),
              " sequences); merge handles GPT data, one sequence per document, only"));
    MergeInput in{prefix, d.document_count(), 0};
    for (const std::int32_t len : d.sequence_lengths()) in.tokens += static_cast<std::size_t>(len);
    report.documents += in.documents;
    report.tokens += in.tokens;
    report.inputs.push_back(in);
  }
  report.dtype = datasets.front().token_dtype();
  IndexedDatasetWriter writer(output_prefix, report.dtype);
  for (const IndexedDataset& d : datasets) {
    const auto lengths = d.sequence_lengths();
    for (std::size_t i = 0; i < lengths.size(); ++i)
      writer.add_document(d.tokens(i, 0, static_cast<std::size_t>(lengths[i])));
  }
  writer.finalize();
  return report;
}

}  // namespace mtnlg::data
