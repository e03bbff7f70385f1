#pragma once
// GPT training samples from a Megatron mmap indexed dataset (PREFIX.bin + PREFIX.idx), the way Megatron's
// GPTDataset builds them: the dataset's sequences split into train/valid/test by weight, each split's
// sequences shuffled per epoch and laid end to end, and samples of seq_len + 1 tokens cut from that stream
// (consecutive samples share one token; samples cross document boundaries), served in a shuffled order.
// See gpt_samples.hpp for the indices and how they extend epoch by epoch; README.md for the keys.
//
// read({split, first_sample, samples}) returns inputs and targets, i32 host tensors of shape (samples,
// seq_len): sample s is tokens x_0 … x_T (T = model.seq_len); inputs = x_0 … x_{T−1}, targets = x_1 … x_T.
// Sample s depends on (train.seed, split weights, dataset, s) only — not on the batching or on what was read
// before.
//
// Recipe keys (declared in plugin.cpp): prefix, split. From the recipe: model.seq_len, train.seed, and
// model.vocab_size when present (every token read must be below it).
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "gpt_samples.hpp"
#include "indexed_dataset.hpp"
#include "mtnlg/component.hpp"
#include "mtnlg/reader.hpp"

namespace mtnlg::readers {

class IndexedReader final : public Reader {
 public:
  // args.params holds the validated keys prefix and split; args.recipe must have model.seq_len and
  // train.seed. Opens the dataset (errors name the file) and checks the split weights (errors name the key's
  // position).
  explicit IndexedReader(const CreateArgs& args);

  const data::IndexedDataset& dataset() const { return dataset_; }
  std::int64_t seq_len() const { return seq_len_; }
  // The sequences of "train", "valid" or "test" (empty for a split of weight 0 or too few documents).
  SequenceRange range(const std::string& split) const;

 protected:
  Batch do_read(const BatchRequest& request) override;

 private:
  int split_index(const std::string& split) const;  // 0, 1, 2; throws listing the splits

  data::IndexedDataset dataset_;
  std::string split_text_;
  std::int64_t seq_len_;
  std::optional<std::int64_t> vocab_;  // model.vocab_size
  std::array<SequenceRange, 3> ranges_;
  std::array<std::unique_ptr<GptSampler>, 3> samplers_;  // null for a split that cannot be sampled
};

}  // namespace mtnlg::readers
