// The blend reader: Megatron's greedy proportions, each dataset's samples exactly its own indexed reader's,
// the start-up shares, and the errors of a bad datasets list.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "blend_index.hpp"
#include "blend_reader.hpp"
#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"
#include "test_work_dir.hpp"

namespace mtnlg::readers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// `docs` documents of 20 tokens, every token in [base, base + 1000): the dataset a sample came from is
// visible.
fs::path write_dataset(const fs::path& prefix, int docs, std::int32_t base) {
  data::IndexedDatasetWriter writer(prefix, DType::i32);
  for (int d = 0; d < docs; ++d) {
    std::vector<std::int32_t> tokens(20);
    for (int i = 0; i < 20; ++i) tokens[i] = base + (d * 20 + i) % 1000;
    writer.add_document(tokens);
  }
  writer.finalize();
  return prefix;
}

Table recipe() {
  Table model, train, r;
  model.set("seq_len", Value(std::int64_t{8}));
  model.set("vocab_size", Value(std::int64_t{50257}));
  train.set("seed", Value(std::int64_t{1234}));
  train.set("steps", Value(std::int64_t{10}));
  train.set("global_batch", Value(std::int64_t{16}));
  r.set("model", Value(std::move(model)));
  r.set("train", Value(std::move(train)));
  return r;
}

Value entry(const std::string& name, const fs::path& prefix, double weight) {
  Table t;
  t.set("name", Value(name));
  t.set("prefix", Value(prefix.string()));
  t.set("weight", Value(weight));
  return Value(std::move(t));
}

Table blend_params(Array datasets) {
  Table p;
  p.set("datasets", Value(std::move(datasets), SourcePos{"blend.toml", 5, 1, ""}));
  p.set("split", Value(std::string("90,10,0")));
  p.set("report_samples", Value(std::int64_t{0}));
  return p;
}

TEST(BlendIndex, EveryPrefixHasTheWeightsProportionsWithinOneSample) {
  BlendIndex index({14.3, 19.3, 5.7, 0.9});
  const double total = 14.3 + 19.3 + 5.7 + 0.9;
  for (std::int64_t n : {1, 7, 100, 1000, 12345}) {
    const auto counts = index.counts(n);
    std::int64_t sum = 0;
    for (std::size_t d = 0; d < counts.size(); ++d) {
      const double expected = n * std::vector<double>{14.3, 19.3, 5.7, 0.9}[d] / total;
      EXPECT_LE(std::abs(static_cast<double>(counts[d]) - expected), 1.0 + 1e-9)
          << "n " << n << " dataset " << d;
      sum += counts[d];
    }
    EXPECT_EQ(sum, n);
  }
}

TEST(BlendIndex, EachDatasetsSamplesAreServedInOrder) {
  BlendIndex index({1.0, 3.0});
  std::vector<std::int64_t> next(2, 0);
  for (std::int64_t i = 0; i < 500; ++i) {
    const auto [d, k] = index.at(i);
    EXPECT_EQ(k, next[d]++);
  }
  // Megatron's rule at the start, weights 0.25 / 0.75: samples 0 and 1 both use max(i, 1) = 1. Sample 0:
  // errors 0.25 and 0.75, the heavier dataset; sample 1: 0.25 and 0.75 − 1, the lighter; sample 2: 0.5
  // and 1.5 − 1.
  EXPECT_EQ(index.at(0).first, 1);
  EXPECT_EQ(index.at(1).first, 0);
  EXPECT_EQ(index.at(2).first, 1);
}

TEST(BlendReader, SamplesComeFromTheirDatasetsReadersInBlendOrder) {
  const fs::path dir = work_dir();
  const fs::path a = write_dataset(dir / "a", 60, 0), b = write_dataset(dir / "b", 40, 10000);
  Array list;
  list.push_back(entry("A", a, 0.25));
  list.push_back(entry("B", b, 0.75));
  const Table r = recipe();
  const Table params = blend_params(std::move(list));
  BlendReader blend(CreateArgs{params, r});
  const Batch batch = blend.read({"train", 0, 200});
  BlendIndex index({0.25, 0.75});
  int from_b = 0;
  for (std::int64_t s = 0; s < 200; ++s) {
    const auto [d, k] = index.at(s);
    const Batch own = blend.datasets()[d].reader->read({"train", k, 1});
    for (int i = 0; i < 8; ++i) {
      ASSERT_EQ(batch.inputs.data_as<std::int32_t>()[s * 8 + i], own.inputs.data_as<std::int32_t>()[i]) << s;
      ASSERT_EQ(batch.targets.data_as<std::int32_t>()[s * 8 + i], own.targets.data_as<std::int32_t>()[i])
          << s;
    }
    from_b += batch.inputs.data_as<std::int32_t>()[s * 8] >= 10000;
  }
  EXPECT_EQ(from_b, 150);
  // The same samples whatever the batching.
  const Batch later = blend.read({"train", 117, 3});
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(later.inputs.data_as<std::int32_t>()[i], batch.inputs.data_as<std::int32_t>()[117 * 8 + i]);
}

TEST(BlendReader, SharesReportWeightsRealisedTokensAndEpochs) {
  const fs::path dir = work_dir();
  const fs::path a = write_dataset(dir / "a", 50, 0), b = write_dataset(dir / "b", 50, 10000);
  Array list;
  list.push_back(entry("A", a, 1.0));
  list.push_back(entry("B", b, 3.0));
  const Table r = recipe();
  const Table params = blend_params(std::move(list));
  BlendReader blend(CreateArgs{params, r});
  const auto shares = blend.shares(160);  // train.steps × global_batch
  ASSERT_EQ(shares.size(), 2u);
  EXPECT_DOUBLE_EQ(shares[0].weight, 0.25);
  EXPECT_DOUBLE_EQ(shares[0].realised, 40.0 / 160.0);
  EXPECT_EQ(shares[1].tokens, 120 * 8);
  EXPECT_EQ(shares[1].split_tokens, 45 * 20);  // split 90,10,0 of 50 documents of 20 tokens
  EXPECT_DOUBLE_EQ(shares[1].epochs, 960.0 / 900.0);
}

TEST(BlendReaderErrors, BadEntriesNameTheEntryAndTheKey) {
  const fs::path dir = work_dir();
  const fs::path a = write_dataset(dir / "a", 10, 0);
  const Table r = recipe();
  const auto make = [&](Array list) {
    const Table params = blend_params(std::move(list));
    BlendReader blend(CreateArgs{params, r});
  };
  EXPECT_THAT([&] { make({}); }, ::testing::ThrowsMessage<Error>(
                                     HasSubstr("blend.toml:5:1: reader.datasets must be a non-empty array")));
  {
    Array list;
    list.push_back(entry("A", a, 0.0));
    EXPECT_THAT([&] { make(std::move(list)); },
                ::testing::ThrowsMessage<Error>(HasSubstr("entry 1: weight must be > 0")));
  }
  {
    Array list;
    list.push_back(entry("A", a, 1.0));
    list.push_back(entry("A", a, 1.0));
    EXPECT_THAT([&] { make(std::move(list)); },
                ::testing::ThrowsMessage<Error>(HasSubstr("two reader.datasets entries are named 'A'")));
  }
  {
    Array list;
    list.push_back(entry("A", dir / "missing", 1.0));
    EXPECT_THAT([&] { make(std::move(list)); }, ::testing::ThrowsMessage<Error>(HasSubstr("missing")));
  }
  {
    Table t;
    t.set("prefix", Value(a.string()));
    t.set("wieght", Value(1.0));
    Array list;
    list.push_back(Value(std::move(t)));
    EXPECT_THAT([&] { make(std::move(list)); },
                ::testing::ThrowsMessage<Error>(HasSubstr("unknown key 'wieght'")));
  }
}

}  // namespace
}  // namespace mtnlg::readers
