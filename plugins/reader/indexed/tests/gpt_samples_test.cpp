// Megatron's GPT sample construction without files: numpy's RandomState, the split, the sample index against
// hand-computed cases, and the lazily extended sampler against the sample index built over the same epochs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "gpt_samples.hpp"
#include "mtnlg/error.hpp"
#include "numpy_random_state.hpp"

namespace mtnlg::readers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using Ranges = std::array<SequenceRange, 3>;

// ---- numpy.random.RandomState ----

TEST(NumpyRandomState, ShuffleMatchesNumpy) {
  // numpy 1.24: r = numpy.random.RandomState(1234); a = numpy.arange(20); r.shuffle(a);
  // b = numpy.arange(1000, dtype=numpy.uint32); r.shuffle(b); b[:10]
  NumpyRandomState random(1234);
  std::vector<int> a(20);
  std::iota(a.begin(), a.end(), 0);
  random.shuffle(std::span<int>(a));
  EXPECT_THAT(a, ElementsAre(3, 13, 2, 16, 14, 5, 4, 0, 8, 18, 17, 11, 10, 9, 7, 1, 19, 12, 6, 15));
  std::vector<std::uint32_t> b(1000);
  std::iota(b.begin(), b.end(), 0u);
  random.shuffle(std::span<std::uint32_t>(b));
  EXPECT_EQ(std::vector<std::uint32_t>(b.begin(), b.begin() + 10),
            (std::vector<std::uint32_t>{356, 206, 670, 630, 780, 885, 823, 118, 272, 467}));

  NumpyRandomState top(4294967295u);  // the largest seed numpy accepts
  std::vector<int> c(20);
  std::iota(c.begin(), c.end(), 0);
  top.shuffle(std::span<int>(c));
  EXPECT_THAT(c, ElementsAre(11, 17, 19, 15, 1, 5, 8, 16, 13, 18, 14, 9, 10, 6, 0, 4, 7, 12, 2, 3));
}

TEST(NumpyRandomState, IntervalAbove32BitsMatchesNumpy) {
  // numpy.random.RandomState(7).randint(0, 10**10 + 1, dtype=numpy.uint64): the same masked 64-bit draws.
  NumpyRandomState random(7);
  EXPECT_EQ(random.interval(10000000000ull), 5664942582ull);
}

// ---- split ----

Ranges split(const char* text, std::int64_t n) {
  return split_sequences(parse_split_weights(text), n);
}

TEST(Split, MegatronRanges) {
  // Values from Megatron's convert_split_vector_to_split_matrix + int(round(·)) (megatron_gpt_samples.py).
  EXPECT_EQ(split("969,30,1", 1000), (Ranges{{{0, 969}, {969, 999}, {999, 1000}}}));
  EXPECT_EQ(split("949,50,1", 1000), (Ranges{{{0, 949}, {949, 999}, {999, 1000}}}));
  EXPECT_EQ(split("80,15,5", 200), (Ranges{{{0, 160}, {160, 190}, {190, 200}}}));
  EXPECT_EQ(split("1,1,1", 10), (Ranges{{{0, 3}, {3, 7}, {7, 10}}}));
}

TEST(Split, RoundsHalfToEvenLikePython) {
  // Bookend 0.5 × 5 = 2.5: Python's round gives 2, not 3.
  EXPECT_EQ(split("1,1", 5), (Ranges{{{0, 2}, {2, 5}, {5, 5}}}));
  EXPECT_EQ(split("1,1", 7), (Ranges{{{0, 4}, {4, 7}, {7, 7}}}));  // 3.5 → 4
}

TEST(Split, MissingAndZeroWeightsAreEmpty) {
  EXPECT_EQ(split("2", 7), (Ranges{{{0, 7}, {7, 7}, {7, 7}}}));
  EXPECT_EQ(split("1,0,1", 10), (Ranges{{{0, 5}, {5, 5}, {5, 10}}}));
  EXPECT_EQ(split(" 99 , 1 ", 100), (Ranges{{{0, 99}, {99, 100}, {100, 100}}}));
  // Too few documents for the small weights: valid and test get none.
  EXPECT_EQ(split("969,30,1", 10), (Ranges{{{0, 10}, {10, 10}, {10, 10}}}));
}

TEST(Split, BadWeights) {
  const auto parsing = [](const char* text) { return [text] { parse_split_weights(text); }; };
  EXPECT_THAT(parsing("a,b"), ThrowsMessage<Error>(AllOf(HasSubstr("split \"a,b\": \"a\" is not a number"),
                                                         HasSubstr("e.g. \"969,30,1\""))));
  EXPECT_THAT(parsing(""), ThrowsMessage<Error>(HasSubstr("split \"\": \"\" is not a number")));
  EXPECT_THAT(parsing("1,,2"), ThrowsMessage<Error>(HasSubstr("\"\" is not a number")));
  EXPECT_THAT(parsing("1,2,3,4"), ThrowsMessage<Error>(HasSubstr("has more than three weights")));
  EXPECT_THAT(parsing("98,-1,3"), ThrowsMessage<Error>(HasSubstr("weight -1 is negative")));
  EXPECT_THAT(parsing("0,0"), ThrowsMessage<Error>(HasSubstr("the weights add up to 0")));
  EXPECT_THAT(parsing("1,inf"), ThrowsMessage<Error>(HasSubstr("\"inf\" is not a number")));
}

// ---- sample index (helpers.cpp build_sample_idx) ----

using Positions = std::vector<SamplePosition>;

TEST(SampleIndex, ThreeDocumentsByHand) {
  // Documents of 5, 3, 4 tokens, in order, seq_len 4: the stream is d0 = tokens 0..4, d1 = 5..7, d2 = 8..11.
  // Samples of 5 tokens start every 4 tokens: token 0 = (d0, 0), token 4 = (d0, 4), token 8 = (d2, 0);
  // (12 − 1) / 4 = 2 samples.
  const std::vector<std::int32_t> lengths = {5, 3, 4};
  EXPECT_EQ(build_sample_index(lengths, std::vector<std::int32_t>{0, 1, 2}, 4, 1, 12),
            (Positions{{0, 0}, {0, 4}, {2, 0}}));
  // Two epochs, the documents again at index positions 3, 4, 5: (24 − 1) / 4 = 5 samples, tokens 12, 16, 20
  // are (d0 of epoch 1, 0), (d0, 4), (d2, 0).
  EXPECT_EQ(build_sample_index(lengths, std::vector<std::int32_t>{0, 1, 2, 0, 1, 2}, 4, 2, 12),
            (Positions{{0, 0}, {0, 4}, {2, 0}, {3, 0}, {3, 4}, {5, 0}}));
  // Shuffled order d2, d0, d1: tokens 0..3 are d2, 4..8 d0, 9..11 d1; token 4 = (position 1, 0), 8 = (1, 4).
  EXPECT_EQ(build_sample_index(lengths, std::vector<std::int32_t>{2, 0, 1}, 4, 1, 12),
            (Positions{{0, 0}, {1, 0}, {1, 4}}));
}

TEST(SampleIndex, EmptyDocumentIsSkipped) {
  // 3, 0, 4 tokens, seq_len 2: the stream is d0 = 0..2, d2 = 3..6; samples start at tokens 0, 2, 4, 6.
  EXPECT_EQ(
      build_sample_index(std::vector<std::int32_t>{3, 0, 4}, std::vector<std::int32_t>{0, 1, 2}, 2, 1, 7),
      (Positions{{0, 0}, {0, 2}, {2, 1}, {2, 3}}));
}

// ---- the sampler ----

std::vector<std::int32_t> random_lengths(std::size_t n, int lo, int hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> len(lo, hi);
  std::vector<std::int32_t> out(n);
  for (auto& x : out) x = len(gen);
  return out;
}

TEST(GptSampler, StreamPositionsAreTheSampleIndexOverTheSameEpochs) {
  // 10 leading documents of another split, then 13 of this one; seq_len 7; three epochs.
  const std::vector<std::int32_t> lengths = random_lengths(23, 1, 12, 5);
  GptSampler sampler(lengths, {10, 23}, 7, 1234);
  std::vector<std::int32_t> document_index;
  for (int e = 0; e < 3; ++e) {
    const auto order = sampler.document_order(e);
    document_index.insert(document_index.end(), order.begin(), order.end());
  }
  const auto index = build_sample_index(lengths, document_index, 7, 3, sampler.tokens_per_epoch());
  ASSERT_GT(index.size(), 10u);
  for (std::size_t k = 0; k < index.size(); ++k)
    EXPECT_EQ(sampler.start_of(static_cast<std::int64_t>(k)), index[k]) << "stream sample " << k;
}

TEST(GptSampler, EpochZeroOrderIsMegatronsDocumentShuffle) {
  // _build_document_index for one epoch: the split's ids shuffled by RandomState(seed), first draw.
  const std::vector<std::int32_t> lengths = random_lengths(30, 1, 9, 6);
  GptSampler sampler(lengths, {5, 25}, 4, 99);
  std::vector<std::int32_t> expected(20);
  std::iota(expected.begin(), expected.end(), 5);
  NumpyRandomState random(99);
  random.shuffle(std::span<std::int32_t>(expected));
  EXPECT_EQ(sampler.document_order(0), expected);
}

TEST(GptSampler, EveryEpochIsAPermutationOfTheSplit) {
  const std::vector<std::int32_t> lengths = random_lengths(40, 1, 9, 7);
  GptSampler sampler(lengths, {0, 40}, 8, 1);
  std::vector<std::int32_t> all(40);
  std::iota(all.begin(), all.end(), 0);
  std::set<std::vector<std::int32_t>> orders;
  for (int e = 0; e < 6; ++e) {
    auto order = sampler.document_order(e);
    orders.insert(order);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, all) << "epoch " << e;
  }
  EXPECT_EQ(orders.size(), 6u);  // every epoch reshuffles
}

TEST(GptSampler, BlocksAreMegatronsEpochCounts) {
  const std::vector<std::int32_t> lengths = random_lengths(9, 1, 20, 8);
  const std::int64_t seq_len = 6;
  GptSampler sampler(lengths, {0, 9}, seq_len, 3);
  const std::int64_t tpe = sampler.tokens_per_epoch();
  for (std::int64_t s = 0; s < 200; ++s) {
    // gpt_dataset.py _get_num_epochs for num_samples = s + 1.
    std::int64_t num_epochs = 1, tokens = tpe;
    while (tokens < (s + 1) * seq_len + 1) ++num_epochs, tokens += tpe;
    const std::int64_t e = sampler.epoch_of(s);
    EXPECT_EQ(e, num_epochs - 1) << "sample " << s;
    EXPECT_LE(sampler.first_sample_of(e), s);
    EXPECT_LT(s, sampler.first_sample_of(e + 1));
  }
  EXPECT_EQ(sampler.first_sample_of(1), (tpe - 1) / seq_len);  // Megatron's one-epoch sample count
}

TEST(GptSampler, EachBlockServesEachOfItsSamplesOnce) {
  const std::vector<std::int32_t> lengths = random_lengths(12, 1, 15, 9);
  GptSampler sampler(lengths, {0, 12}, 5, 77);
  for (std::int64_t e = 0; e < 4; ++e) {
    std::vector<std::int64_t> served;
    for (std::int64_t s = sampler.first_sample_of(e); s < sampler.first_sample_of(e + 1); ++s)
      served.push_back(sampler.stream_sample(s));
    std::vector<std::int64_t> block(served.size());
    std::iota(block.begin(), block.end(), sampler.first_sample_of(e));
    EXPECT_NE(served, block) << "epoch " << e << " is not shuffled";
    std::sort(served.begin(), served.end());
    EXPECT_EQ(served, block) << "epoch " << e;
  }
}

// The (sequence, offset) of every token of served sample s.
std::vector<std::pair<std::int64_t, std::int64_t>> token_places(GptSampler& sampler, std::int64_t s) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const TokenRun& r : sampler.runs(s))
    for (std::int64_t i = 0; i < r.length; ++i) out.emplace_back(r.sequence, r.offset + i);
  return out;
}

TEST(GptSampler, ConsecutiveStreamSamplesShareOneToken) {
  const std::vector<std::int32_t> lengths = random_lengths(15, 0, 10, 10);  // empty documents included
  const std::int64_t seq_len = 6;
  GptSampler sampler(lengths, {0, 15}, seq_len, 5);
  std::map<std::int64_t, std::int64_t> served_as;  // stream sample → served sample
  for (std::int64_t s = 0; s < sampler.first_sample_of(3); ++s) served_as[sampler.stream_sample(s)] = s;
  for (std::int64_t k = 0; k + 1 < sampler.first_sample_of(3); ++k) {
    const auto a = token_places(sampler, served_as.at(k)), b = token_places(sampler, served_as.at(k + 1));
    ASSERT_EQ(a.size(), static_cast<std::size_t>(seq_len + 1));
    ASSERT_EQ(b.size(), static_cast<std::size_t>(seq_len + 1));
    EXPECT_EQ(a.back(), b.front()) << "stream samples " << k << " and " << k + 1;
    for (const auto& [sequence, offset] : a) {
      EXPECT_GE(offset, 0);
      EXPECT_LT(offset, lengths[static_cast<std::size_t>(sequence)]);
    }
  }
}

TEST(GptSampler, EpochsShorterThanASample) {
  // 3 tokens an epoch, samples of 9: each sample reads through several epochs' orders.
  const std::vector<std::int32_t> lengths = {2, 1};
  GptSampler sampler(lengths, {0, 2}, 8, 11);
  EXPECT_EQ(sampler.first_sample_of(1), 0);  // epoch 0 alone holds no whole sample
  for (std::int64_t s = 0; s < 20; ++s) {
    std::int64_t tokens = 0;
    for (const TokenRun& r : sampler.runs(s)) tokens += r.length;
    EXPECT_EQ(tokens, 9) << "sample " << s;
  }
}

TEST(GptSampler, Errors) {
  const std::vector<std::int32_t> lengths = {3, 0, 0, 4};
  EXPECT_THAT(
      [&] {
        GptSampler(lengths, {2, 2}, 4, 1);
      },
      ThrowsMessage<Error>(HasSubstr("sequences [2, 2) are not a non-empty range of the dataset's 4")));
  EXPECT_THAT(
      [&] {
        GptSampler(lengths, {1, 3}, 4, 1);
      },
      ThrowsMessage<Error>(HasSubstr("sequences [1, 3) hold no tokens")));
  EXPECT_THAT(
      [&] {
        GptSampler(lengths, {0, 4}, 0, 1);
      },
      ThrowsMessage<Error>(HasSubstr("seq_len must be at least 1, got 0")));
  GptSampler sampler(lengths, {0, 4}, 4, 1);
  EXPECT_THAT([&] { sampler.runs(-1); }, ThrowsMessage<Error>(HasSubstr("sample -1 is out of range")));
}

}  // namespace
}  // namespace mtnlg::readers
