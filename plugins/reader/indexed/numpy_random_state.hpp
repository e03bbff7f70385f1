#pragma once
// numpy.random.RandomState(seed).shuffle, bit for bit: Megatron's GPTDataset shuffles its document and sample
// indices with it (gpt_dataset.py: numpy.random.RandomState(config.random_seed)), so reproducing it is what
// makes our first epoch the same samples in the same order as Megatron's.
//
// RandomState(seed) for an integer seed in [0, 2^32) is MT19937 seeded with init_genrand(seed) — which is
// what std::mt19937(seed) does, and the standard fixes its output. Its legacy shuffle of a 1-D array is
// Fisher–Yates from the back: for i = n−1 … 1, swap x[i] with x[j], j = random_interval(i), where
// random_interval draws 32-bit words (64-bit above 2^32 − 1), masks them to the smallest 2^k − 1 ≥ i and
// rejects values above i (numpy/random/src/distributions/distributions.c).
#include <cstdint>
#include <random>
#include <span>
#include <utility>

namespace mtnlg::readers {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(std::uint32_t seed) : mt_(seed) {}

  // Uniform in [0, max] (numpy's random_interval).
  std::uint64_t interval(std::uint64_t max) {
    if (max == 0) return 0;
    std::uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    std::uint64_t value = 0;
    if (max <= 0xffffffffull) {
      do value = next32() & mask;
      while (value > max);
    } else {
      do {
        const std::uint64_t hi = next32();  // numpy's mt19937_next64: the first word is the high half
        value = ((hi << 32) | next32()) & mask;
      } while (value > max);
    }
    return value;
  }

  // In place, as RandomState.shuffle does for a 1-D ndarray (the element type does not change the draws).
  template <class T>
  void shuffle(std::span<T> x) {
    for (std::size_t i = x.size(); i-- > 1;) std::swap(x[i], x[interval(i)]);
  }

 private:
  std::uint64_t next32() { return static_cast<std::uint32_t>(mt_()); }
  std::mt19937 mt_;
};

}  // namespace mtnlg::readers
