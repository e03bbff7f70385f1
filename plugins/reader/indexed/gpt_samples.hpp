#pragma once
// Megatron's GPT sample construction over an indexed dataset (megatron/core/datasets/gpt_dataset.py,
// helpers.cpp, blended_megatron_dataset_config.py, blended_megatron_dataset_builder.py), as three parts:
//
//   split        the train/valid/test weights ("969,30,1") → a contiguous range of sequences per split
//   sample index the split's sequences, in a shuffled order, laid end to end as one token stream; sample k is
//                the T + 1 tokens at stream positions [k·T, k·T + T] (T = seq_len), so consecutive samples
//                share one token and samples cross document boundaries
//   shuffle      the order in which samples are served
//
// Megatron builds all three for a number of samples fixed in advance (train_iters × global_batch): the
// document index is every epoch's copy of the documents shuffled together, and the shuffle spans all samples,
// so sample s depends on how many samples were asked for. Here sample s is a function of (seed, split, s)
// only, and epochs are built lazily, one at a time, when a read reaches them:
//   - epoch e's document index is the split's sequences shuffled by RandomState(seed_e); the stream is
//     epoch 0's order, then epoch 1's, … (samples crossing an epoch boundary read on into the next);
//   - the served samples come in blocks, one per epoch: block e is stream samples [B_e, B_{e+1}),
//     B_0 = 0, B_e = (e·tokens_per_epoch − 1) / T — the samples Megatron's _get_num_epochs assigns to the
//     first e epochs — shuffled within the block by the same RandomState after the document shuffle;
//   - seed_0 = train.seed, so epoch 0 (document index, sample index and shuffle) is exactly Megatron's
//     GPTDataset built for at most one epoch of samples; seed_e for e ≥ 1 is derived from (seed, e).
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

namespace mtnlg::readers {

// ---- split ----

// Sequences [begin, end) of the dataset.
struct SequenceRange {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
  bool operator==(const SequenceRange&) const = default;
};

// Megatron's parse_and_normalize_split: up to three non-negative numbers separated by commas (missing ones
// are 0), divided by their sum. Throws mtnlg::Error naming what is wrong.
std::array<double, 3> parse_split_weights(std::string_view text);

// Megatron's split matrix (convert_split_vector_to_split_matrix) applied to `sequences` elements:
// split i is [round(c_i · n), round(c_{i+1} · n)) with c the running sums 0, w0, w0 + w1, w0 + w1 + w2 and
// round half to even (Python's round). A split of weight 0 is empty.
std::array<SequenceRange, 3> split_sequences(const std::array<double, 3>& weights, std::int64_t sequences);

// ---- sample index ----

// A place in the token stream: position in the document index (document_index[document] is a sequence id)
// and the token offset inside that sequence.
struct SamplePosition {
  std::int64_t document = 0, offset = 0;
  bool operator==(const SamplePosition&) const = default;
};

// helpers.cpp build_sample_idx with add_extra_token_to_sequence = 1 and drop_last_partial_sequence = true:
// num_samples = (num_epochs · tokens_per_epoch − 1) / seq_len, and num_samples + 1 positions; sample i is the
// seq_len + 1 tokens from positions[i] to positions[i + 1] inclusive. document_index covers every epoch.
std::vector<SamplePosition> build_sample_index(std::span<const std::int32_t> sequence_lengths,
                                               std::span<const std::int32_t> document_index,
                                               std::int64_t seq_len, std::int64_t num_epochs,
                                               std::int64_t tokens_per_epoch);

// ---- the lazily extended sampler ----

// A piece of a sample: tokens [offset, offset + length) of sequence `sequence`.
struct TokenRun {
  std::int64_t sequence = 0, offset = 0, length = 0;
  bool operator==(const TokenRun&) const = default;
};

class GptSampler {
 public:
  // sequence_lengths: the whole dataset's (copied for `range`); range: the split's sequences, non-empty and
  // holding at least one token. Thread-safe: epochs are built under a lock and shared.
  GptSampler(std::span<const std::int32_t> sequence_lengths, SequenceRange range, std::int64_t seq_len,
             std::uint32_t seed);

  std::int64_t seq_len() const { return seq_len_; }
  std::int64_t tokens_per_epoch() const { return tokens_per_epoch_; }
  const SequenceRange& range() const { return range_; }

  // The block (epoch) that serves sample s: e + 1 = ⌈((s + 1)·T + 1) / tokens_per_epoch⌉, Megatron's
  // _get_num_epochs for s + 1 samples.
  std::int64_t epoch_of(std::int64_t sample) const;
  // B_e: the first sample of block e.
  std::int64_t first_sample_of(std::int64_t epoch) const;
  // Epoch e's document index: the split's sequence ids in shuffled order.
  std::vector<std::int32_t> document_order(std::int64_t epoch);
  // The shuffle index: served sample s is stream sample k (which starts at token k·T).
  std::int64_t stream_sample(std::int64_t sample);
  // Where stream sample k starts; `document` indexes the concatenation of every epoch's document order.
  SamplePosition start_of(std::int64_t stream_sample);
  // The seq_len + 1 tokens of served sample s, as pieces of sequences in stream order.
  std::vector<TokenRun> runs(std::int64_t sample);

 private:
  struct Epoch {
    std::vector<std::int32_t> order;     // (documents,) sequence ids
    std::vector<std::int64_t> ends;      // (documents,) stream tokens of the epoch through order[j]
    std::vector<std::uint32_t> shuffle;  // (B_{e+1} − B_e,) the block's permutation
  };
  std::shared_ptr<const Epoch> epoch(std::int64_t e);
  std::shared_ptr<const Epoch> build_epoch(std::int64_t e) const;
  std::int64_t length_of(std::int32_t sequence) const { return lengths_[sequence - range_.begin]; }
  void check_sample(std::int64_t sample) const;

  std::vector<std::int32_t> lengths_;  // (range.size(),)
  SequenceRange range_;
  std::int64_t seq_len_, tokens_per_epoch_;
  std::uint32_t seed_;

  // The most recently used epochs; a read rarely needs more than two (a sample crossing into the next).
  static constexpr std::size_t kCachedEpochs = 4;
  std::mutex mutex_;
  std::vector<std::pair<std::int64_t, std::shared_ptr<const Epoch>>> cache_;  // most recent last
};

}  // namespace mtnlg::readers
