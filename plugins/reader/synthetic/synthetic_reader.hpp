#pragma once
// Seeded synthetic token data, for tests and benchmarks: no files, any number of samples, and the same
// (seed, split, sample) always gives the same sequence whichever batch, rank or layout reads it, because
// every token comes from a counter-based Philox stream keyed by (seed, split, sample) — there is no reader
// state.
//
// Each sample s is a sequence x_0 … x_T of T + 1 tokens (T = model.seq_len); inputs = x_0 … x_{T−1},
// targets = x_1 … x_T, the next-token targets of a language model.
//   counting: x_0 uniform in [0, vocab) from (seed, split, s), x_{i+1} = (x_i + 1) mod vocab. Each token
//             follows from the previous one, so a tiny model can learn it to near-zero loss: a test that
//             training works end to end.
//   random:   every token uniform in [0, vocab), independent: nothing to learn (the loss stays near
//             ln vocab), for benchmarks.
//
// Recipe keys (declared in plugin.cpp, documented in README.md): pattern, vocab. From the recipe:
// model.seq_len, model.vocab_size, train.seed.
#include <cstdint>
#include <string>

#include "mtnlg/component.hpp"
#include "mtnlg/reader.hpp"

namespace mtnlg::readers {

class SyntheticReader final : public Reader {
 public:
  enum class Pattern { counting, random };

  // args.params holds the validated keys pattern and vocab; args.recipe must have model.seq_len,
  // model.vocab_size and train.seed. Throws mtnlg::Error naming the key for a value out of range.
  explicit SyntheticReader(const CreateArgs& args);

  std::int64_t seq_len() const { return seq_len_; }
  std::int64_t vocab() const { return vocab_; }

 protected:
  Batch do_read(const BatchRequest& request) override;

 private:
  Pattern pattern_;
  std::int64_t vocab_, seq_len_;
  std::uint64_t seed_;
};

}  // namespace mtnlg::readers
