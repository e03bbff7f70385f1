// The synthetic reader: shapes, next-token targets, both patterns, determinism across batchings, independent
// splits, the vocabulary bound and the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "synthetic_reader.hpp"

namespace mtnlg::readers {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

constexpr std::int64_t kSeqLen = 16;

Table tiny_recipe(std::int64_t seq_len = kSeqLen, std::int64_t vocab_size = 50257, std::int64_t seed = 1234) {
  Table model, train, recipe;
  model.set("seq_len", Value(seq_len));
  model.set("vocab_size", Value(vocab_size));
  train.set("seed", Value(seed));
  recipe.set("model", Value(std::move(model)));
  recipe.set("train", Value(std::move(train)));
  return recipe;
}

Table reader_keys(const std::string& pattern, std::int64_t vocab, const SourcePos& at = {}) {
  Table params;
  params.set("pattern", Value(pattern, at));
  params.set("vocab", Value(vocab, at));
  return params;
}

std::unique_ptr<SyntheticReader> make(const std::string& pattern, std::int64_t vocab = 0,
                                      const Table& recipe = tiny_recipe()) {
  const Table params = reader_keys(pattern, vocab);
  auto r = std::make_unique<SyntheticReader>(CreateArgs{params, recipe});
  r->set_component_label("reader 'synthetic'");
  return r;
}

std::vector<std::int32_t> values(const Tensor& t) {
  const std::int32_t* p = t.data_as<std::int32_t>();
  return {p, p + t.numel()};
}

// Row b of a (samples, seq_len) tensor.
std::vector<std::int32_t> row(const Tensor& t, std::int64_t b) {
  const std::int32_t* p = t.data_as<std::int32_t>() + b * t.dim(1);
  return {p, p + t.dim(1)};
}

// The properties both patterns share, checked for each.
const std::string kPatterns[] = {"counting", "random"};

TEST(SyntheticReader, ShapesAndNextTokenTargets) {
  for (const std::string& pattern : kPatterns) {
    SCOPED_TRACE(pattern);
    const auto reader = make(pattern);
    const Batch batch = reader->read(BatchRequest{"train", 100, 5});
    for (const Tensor* t : {&batch.inputs, &batch.targets}) {
      EXPECT_EQ(t->dtype(), DType::i32);
      EXPECT_EQ(t->shape(), (Shape{5, kSeqLen}));
      EXPECT_EQ(t->device().kind, DeviceKind::cpu);
      EXPECT_TRUE(t->is_contiguous());
    }
    // targets are the inputs shifted left by one: inputs[b][i + 1] == targets[b][i].
    for (std::int64_t b = 0; b < 5; ++b) {
      const auto in = row(batch.inputs, b), tg = row(batch.targets, b);
      for (std::int64_t i = 0; i + 1 < kSeqLen; ++i)
        EXPECT_EQ(in[i + 1], tg[i]) << "sample " << b << " position " << i;
    }
  }
}

TEST(SyntheticReader, SameSampleWhateverTheBatching) {
  for (const std::string& pattern : kPatterns) {
    SCOPED_TRACE(pattern);
    const auto reader = make(pattern);
    const Batch all = reader->read(BatchRequest{"train", 0, 8});
    const Batch first = reader->read(BatchRequest{"train", 0, 4});
    const Batch second = reader->read(BatchRequest{"train", 4, 4});
    std::vector<std::int32_t> in = values(first.inputs), tg = values(first.targets);
    const auto in2 = values(second.inputs), tg2 = values(second.targets);
    in.insert(in.end(), in2.begin(), in2.end());
    tg.insert(tg.end(), tg2.begin(), tg2.end());
    EXPECT_EQ(values(all.inputs), in);
    EXPECT_EQ(values(all.targets), tg);
    // And from another reader with the same seed: nothing depends on what was read before.
    const Batch again = make(pattern)->read(BatchRequest{"train", 3, 1});
    EXPECT_EQ(values(again.inputs), row(all.inputs, 3));
  }
}

TEST(SyntheticReader, SplitsAndSeedsDiffer) {
  for (const std::string& pattern : kPatterns) {
    SCOPED_TRACE(pattern);
    const auto reader = make(pattern);
    const auto train = values(reader->read(BatchRequest{"train", 0, 4}).inputs);
    const auto valid = values(reader->read(BatchRequest{"valid", 0, 4}).inputs);
    const auto test = values(reader->read(BatchRequest{"test", 0, 4}).inputs);
    EXPECT_NE(train, valid);
    EXPECT_NE(train, test);
    EXPECT_NE(valid, test);
    const auto other_seed =
        values(make(pattern, 0, tiny_recipe(kSeqLen, 50257, 99))->read({"train", 0, 4}).inputs);
    EXPECT_NE(train, other_seed);
    // Samples differ from one another too.
    const auto one = values(reader->read(BatchRequest{"train", 1, 1}).inputs);
    EXPECT_NE(std::vector<std::int32_t>(train.begin(), train.begin() + kSeqLen), one);
  }
}

TEST(SyntheticReader, TokensStayBelowVocab) {
  for (const std::string& pattern : kPatterns) {
    SCOPED_TRACE(pattern);
    const auto reader = make(pattern, 7);
    EXPECT_EQ(reader->vocab(), 7);
    const Batch batch = reader->read(BatchRequest{"valid", 0, 64});
    std::set<std::int32_t> seen;
    for (const Tensor* t : {&batch.inputs, &batch.targets})
      for (std::int32_t x : values(*t)) {
        EXPECT_GE(x, 0);
        EXPECT_LT(x, 7);
        seen.insert(x);
      }
    EXPECT_EQ(seen.size(), 7u);  // 64 × 17 draws cover every token
  }
}

TEST(SyntheticReader, CountingIsThePreviousTokenPlusOne) {
  const auto reader = make("counting", 10);
  const Batch batch = reader->read(BatchRequest{"train", 0, 32});
  std::set<std::int32_t> starts;
  for (std::int64_t b = 0; b < 32; ++b) {
    const auto in = row(batch.inputs, b), tg = row(batch.targets, b);
    starts.insert(in[0]);
    for (std::int64_t i = 0; i < kSeqLen; ++i) EXPECT_EQ(tg[i], (in[i] + 1) % 10) << "sample " << b;
  }
  EXPECT_GT(starts.size(), 5u);  // the start is random per sample
}

TEST(SyntheticReader, RandomIsNotCounting) {
  const Batch batch = make("random")->read(BatchRequest{"train", 0, 4});
  int successors = 0;
  const auto in = values(batch.inputs), tg = values(batch.targets);
  for (std::size_t i = 0; i < in.size(); ++i) successors += tg[i] == in[i] + 1;
  EXPECT_LT(successors, 3);
}

TEST(SyntheticReader, VocabDefaultsToTheModels) {
  EXPECT_EQ(make("counting", 0, tiny_recipe(kSeqLen, 321))->vocab(), 321);
  EXPECT_EQ(make("counting", 0, tiny_recipe(kSeqLen, 321))->seq_len(), kSeqLen);
}

TEST(SyntheticReader, RejectsUnknownSplit) {
  const auto reader = make("counting");
  EXPECT_THAT(
      [&] {
        reader->read(BatchRequest{"validation", 0, 1});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("reader 'synthetic'"), HasSubstr("unknown split \"validation\""),
                                 HasSubstr("the splits are \"train\", \"valid\", \"test\""))));
}

TEST(SyntheticReader, RejectsBadRequests) {
  const auto reader = make("counting");
  EXPECT_THAT(
      [&] {
        reader->read(BatchRequest{"train", 0, 0});
      },
      ThrowsMessage<Error>(HasSubstr("need samples >= 1 and first_sample >= 0")));
  EXPECT_THAT(
      [&] {
        reader->read(BatchRequest{"train", -1, 1});
      },
      ThrowsMessage<Error>(HasSubstr("need samples >= 1 and first_sample >= 0")));
}

TEST(SyntheticReader, RejectsVocabBeyondTheModels) {
  const Table recipe = tiny_recipe(kSeqLen, 100);
  const SourcePos pos{"recipe.toml", 12, 9, ""};
  EXPECT_THAT(
      [&] {
        SyntheticReader r(CreateArgs{reader_keys("counting", 101, pos), recipe});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("recipe.toml:12:9"),
                                 HasSubstr("reader.vocab (101) exceeds model.vocab_size (100)"))));
  EXPECT_THAT(
      [&] {
        SyntheticReader r(CreateArgs{reader_keys("counting", -2, pos), recipe});
      },
      ThrowsMessage<Error>(HasSubstr("reader.vocab must be at least 1 (or 0 = model.vocab_size), got -2")));
}

TEST(SyntheticReader, RejectsARecipeWithoutSeqLen) {
  Table recipe = tiny_recipe();
  Table model;  // [model] without seq_len
  model.set("vocab_size", Value(std::int64_t{100}));
  recipe.set("model", Value(std::move(model)));
  EXPECT_THAT(
      [&] {
        SyntheticReader r(CreateArgs{reader_keys("counting", 0), recipe});
      },
      ThrowsMessage<Error>(HasSubstr("the recipe needs an integer model.seq_len")));
}

}  // namespace
}  // namespace mtnlg::readers
