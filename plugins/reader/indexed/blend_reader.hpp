#pragma once
// Reader `blend`: several Megatron indexed datasets mixed by weight, as MT-NLG trained on 15 datasets (the
// seed's Figure 2). Each dataset is an `indexed` reader of its own (same split and seed); which one serves
// each sample is Megatron's greedy error-minimising blend (blend_index.hpp). At start it logs, per dataset,
// the weight asked for, the share realised over the run's samples and the epochs of the dataset that means.
//
// Recipe keys (plugin.cpp): datasets = [{name, prefix, weight}, ...], split, report_samples.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blend_index.hpp"
#include "indexed_reader.hpp"
#include "mtnlg/reader.hpp"

namespace mtnlg::readers {

struct BlendedDataset {
  std::string name;
  double weight = 0.0;  // as given (normalised by BlendIndex)
  std::unique_ptr<IndexedReader> reader;
};

// One row of the start-up report.
struct BlendShare {
  std::string name;
  double weight = 0.0;            // normalised
  double realised = 0.0;          // share of the first `samples`
  std::int64_t tokens = 0;        // drawn: samples × seq_len
  std::int64_t split_tokens = 0;  // in the dataset's train split
  double epochs = 0.0;            // tokens / split_tokens
};

class BlendReader final : public Reader {
 public:
  explicit BlendReader(const CreateArgs& args);

  const std::vector<BlendedDataset>& datasets() const { return datasets_; }
  // Realised shares of the train split over its first `samples` samples.
  std::vector<BlendShare> shares(std::int64_t samples);

 protected:
  Batch do_read(const BatchRequest& request) override;

 private:
  BlendIndex& index(const std::string& split);

  std::vector<BlendedDataset> datasets_;
  std::int64_t seq_len_ = 0;
  std::array<std::optional<BlendIndex>, 3> indices_;  // train, valid, test
};

}  // namespace mtnlg::readers
