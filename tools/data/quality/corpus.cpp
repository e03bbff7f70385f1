#include "corpus.hpp"

#include "io/json_lines_reader.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::quality {

std::vector<SparseFeatures> read_corpus(const std::filesystem::path& path, const std::string& key,
                                        std::uint32_t feature_count, BadLines* bad_lines) {
  JsonLinesReader reader(path, bad_lines);
  std::vector<SparseFeatures> corpus;
  std::string line;
  nlohmann::json doc;
  while (reader.next_document(line, doc, key))
    corpus.push_back(extract_features(reader.text(doc, key), feature_count));
  MTNLG_CHECK(!corpus.empty(), str(path.string(), " has no documents"));
  return corpus;
}

}  // namespace mtnlg::data::quality
