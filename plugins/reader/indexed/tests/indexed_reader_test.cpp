// The indexed reader: shapes and next-token targets, samples that overlap by one token, determinism whatever
// the batching, the split proportions, reading past the first epoch, the first epoch against Megatron's own
// construction (megatron_gpt_samples.py, run with numpy), and the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "indexed_dataset.hpp"
#include "indexed_reader.hpp"
#include "mtnlg/error.hpp"
#include "test_work_dir.hpp"

namespace mtnlg::readers {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using Doc = std::vector<std::int32_t>;

fs::path write_dataset(const fs::path& prefix, const std::vector<Doc>& docs, DType dtype = DType::u16) {
  data::IndexedDatasetWriter writer(prefix, dtype);
  for (const Doc& d : docs) writer.add_document(d);
  writer.finalize();
  return prefix;
}

// `n` documents of 1..max_len tokens; tokens uniform below `vocab`.
std::vector<Doc> random_docs(int n, int max_len, int vocab, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> len(1, max_len), tok(0, vocab - 1);
  std::vector<Doc> docs(static_cast<std::size_t>(n));
  for (Doc& d : docs) {
    d.resize(static_cast<std::size_t>(len(gen)));
    for (auto& t : d) t = tok(gen);
  }
  return docs;
}

// Documents whose every token is distinct: token = its position in the dataset.
std::vector<Doc> counting_docs(int n, int max_len, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> len(1, max_len);
  std::vector<Doc> docs(static_cast<std::size_t>(n));
  std::int32_t next = 0;
  for (Doc& d : docs) {
    d.resize(static_cast<std::size_t>(len(gen)));
    for (auto& t : d) t = next++;
  }
  return docs;
}

const SourcePos kPrefixPos{"recipe.toml", 3, 10, ""};
const SourcePos kSplitPos{"recipe.toml", 4, 9, ""};

Table recipe(std::int64_t seq_len, std::int64_t seed = 1234, std::int64_t vocab_size = 50257) {
  Table model, train, r;
  model.set("seq_len", Value(seq_len));
  model.set("vocab_size", Value(vocab_size));
  train.set("seed", Value(seed));
  r.set("model", Value(std::move(model)));
  r.set("train", Value(std::move(train)));
  return r;
}

std::unique_ptr<IndexedReader> make(const fs::path& prefix, const std::string& split, const Table& r) {
  Table params;
  params.set("prefix", Value(prefix.string(), kPrefixPos));
  params.set("split", Value(split, kSplitPos));
  auto reader = std::make_unique<IndexedReader>(CreateArgs{params, r});
  reader->set_component_label("reader 'indexed'");
  return reader;
}

std::vector<std::int32_t> values(const Tensor& t) {
  const std::int32_t* p = t.data_as<std::int32_t>();
  return {p, p + t.numel()};
}

std::int64_t total_tokens(const IndexedReader& reader) {
  std::int64_t n = 0;
  for (std::int32_t len : reader.dataset().sequence_lengths()) n += len;
  return n;
}

// Sample b of a batch as its seq_len + 1 tokens: inputs[b] then the last target.
Doc sample_tokens(const Batch& batch, std::int64_t b) {
  const std::int64_t t = batch.inputs.dim(1);
  const std::int32_t* in = batch.inputs.data_as<std::int32_t>() + b * t;
  Doc x(in, in + t);
  x.push_back(batch.targets.data_as<std::int32_t>()[b * t + t - 1]);
  return x;
}

TEST(IndexedReader, ShapesAndNextTokenTargets) {
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(50, 30, 50257, 1));
  const auto reader = make(prefix, "969,30,1", recipe(16));
  const Batch batch = reader->read(BatchRequest{"train", 3, 5});
  for (const Tensor* t : {&batch.inputs, &batch.targets}) {
    EXPECT_EQ(t->dtype(), DType::i32);
    EXPECT_EQ(t->shape(), (Shape{5, 16}));
    EXPECT_EQ(t->device().kind, DeviceKind::cpu);
    EXPECT_TRUE(t->is_contiguous());
  }
  const auto in = values(batch.inputs), tg = values(batch.targets);
  for (std::int64_t b = 0; b < 5; ++b)
    for (std::int64_t i = 0; i + 1 < 16; ++i) EXPECT_EQ(in[b * 16 + i + 1], tg[b * 16 + i]);
}

TEST(IndexedReader, SamplesOverlapByOneToken) {
  // Every token is distinct, so a sample's last token names the sample that follows it in the stream: each
  // sample's last token is the first token of exactly one other sample of the epoch, except the epoch's last.
  const fs::path prefix = write_dataset(work_dir() / "ds", counting_docs(40, 12, 2), DType::i32);
  const auto reader = make(prefix, "1", recipe(8));
  const std::int64_t samples = (total_tokens(*reader) - 1) / 8;  // epoch 0's block
  const Batch batch = reader->read(BatchRequest{"train", 0, static_cast<int>(samples)});
  std::map<std::int32_t, int> starts;
  std::vector<std::int32_t> lasts;
  for (std::int64_t b = 0; b < samples; ++b) {
    const Doc x = sample_tokens(batch, b);
    ++starts[x.front()];
    lasts.push_back(x.back());
  }
  int followed = 0;
  for (std::int32_t last : lasts) followed += starts.count(last) ? starts[last] : 0;
  EXPECT_EQ(followed, samples - 1);
  for (const auto& [token, count] : starts) EXPECT_EQ(count, 1) << "two samples start at token " << token;
}

TEST(IndexedReader, SameSamplesWhateverTheBatching) {
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(30, 20, 50257, 3));
  const auto reader = make(prefix, "969,30,1", recipe(16));
  // Well past the first epoch (about 300 tokens an epoch, 18 samples).
  const Batch all = reader->read(BatchRequest{"train", 0, 90});
  std::vector<std::int32_t> pieced;
  for (std::int64_t first = 0; first < 90; first += 7) {
    const int n = static_cast<int>(std::min<std::int64_t>(7, 90 - first));
    const auto part = values(reader->read(BatchRequest{"train", first, n}).inputs);
    pieced.insert(pieced.end(), part.begin(), part.end());
  }
  EXPECT_EQ(values(all.inputs), pieced);
  // Backwards, and from a fresh reader: nothing depends on what was read before.
  const auto fresh = make(prefix, "969,30,1", recipe(16));
  for (std::int64_t s : {89, 40, 0, 17, 18}) {
    const Batch one = fresh->read(BatchRequest{"train", s, 1});
    EXPECT_EQ(sample_tokens(one, 0), sample_tokens(all, s)) << "sample " << s;
  }
}

TEST(IndexedReader, SeedsChangeTheOrder) {
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(30, 20, 50257, 4));
  const auto a = values(make(prefix, "1", recipe(16, 1))->read(BatchRequest{"train", 0, 8}).inputs);
  const auto b = values(make(prefix, "1", recipe(16, 2))->read(BatchRequest{"train", 0, 8}).inputs);
  EXPECT_NE(a, b);
}

TEST(IndexedReader, SplitProportions) {
  // 1000 documents of 3 tokens; every token is its document's id, so each sample shows where it came from.
  std::vector<Doc> docs;
  for (int d = 0; d < 1000; ++d) docs.push_back({d, d, d});
  const fs::path prefix = write_dataset(work_dir() / "ds", docs);
  const auto reader = make(prefix, "969,30,1", recipe(4));
  EXPECT_EQ(reader->range("train"), (SequenceRange{0, 969}));
  EXPECT_EQ(reader->range("valid"), (SequenceRange{969, 999}));
  EXPECT_EQ(reader->range("test"), (SequenceRange{999, 1000}));
  const std::map<std::string, std::pair<int, int>> bounds = {
      {"train", {0, 969}}, {"valid", {969, 999}}, {"test", {999, 1000}}};
  for (const auto& [split, range] : bounds) {
    SCOPED_TRACE(split);
    const std::int64_t tokens = 3 * (range.second - range.first);
    // Three epochs' worth of samples: each epoch covers every document of the split, and nothing else.
    const std::int64_t samples = 3 * tokens / 4 - 1;
    const auto x = values(reader->read(BatchRequest{split, 0, static_cast<int>(samples)}).inputs);
    const std::set<std::int32_t> seen(x.begin(), x.end());
    EXPECT_EQ(*seen.begin(), range.first);
    EXPECT_EQ(*seen.rbegin(), range.second - 1);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(range.second - range.first));
  }
}

TEST(IndexedReader, EveryEpochCoversTheSplit) {
  const fs::path prefix = write_dataset(work_dir() / "ds", counting_docs(25, 10, 5), DType::i32);
  const auto reader = make(prefix, "1", recipe(6));
  const std::int64_t tokens = total_tokens(*reader);
  GptSampler sampler(reader->dataset().sequence_lengths(), {0, 25}, 6, 1234);
  for (std::int64_t e = 0; e < 4; ++e) {
    const std::int64_t first = sampler.first_sample_of(e), last = sampler.first_sample_of(e + 1);
    const auto x = values(reader->read(BatchRequest{"train", first, static_cast<int>(last - first)}).inputs);
    const std::set<std::int32_t> seen(x.begin(), x.end());
    // All but the few tokens after the epoch's last whole sample (those open the next block).
    EXPECT_GE(static_cast<std::int64_t>(seen.size()), tokens - 2 * 6) << "epoch " << e;
  }
}

// Runs megatron_gpt_samples.py; returns its lines grouped by split ("train" → samples), "empty" splits
// absent.
std::map<std::string, std::vector<Doc>> megatron_samples(const fs::path& prefix, const std::string& split,
                                                         int seq_len, int seed) {
  const std::string command =
      "/usr/bin/python3 '" MTNLG_INDEXED_TEST_SOURCE_DIR "/megatron_gpt_samples.py' '" + prefix.string() +
      "' '" + split + "' " + std::to_string(seq_len) + " " + std::to_string(seed) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return {};
  std::string output;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << command << "\n"
      << output << "\n(needs /usr/bin/python3 with numpy: tools/setup installs python3-numpy for the tests)";
  std::map<std::string, std::vector<Doc>> out;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string name, index;
    in >> name >> index;
    if (index == "empty") continue;
    Doc x;
    for (std::int32_t t; in >> t;) x.push_back(t);
    EXPECT_EQ(std::stoul(index), out[name].size());
    out[name].push_back(x);
  }
  return out;
}

TEST(IndexedReader, MatchesMegatronFirstEpoch) {
  // Megatron's GPTDataset built for one epoch of samples, by numpy, against our block 0: the same samples in
  // the same order, for every split, two seeds and two split strings (one with an empty test split).
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(200, 40, 50257, 6));
  for (const std::string split : {"80,15,5", "98,2,0"}) {
    for (const int seed : {1234, 7}) {
      SCOPED_TRACE(split + " seed " + std::to_string(seed));
      const auto reference = megatron_samples(prefix, split, 16, seed);
      ASSERT_TRUE(reference.count("train") && reference.count("valid"));
      EXPECT_EQ(reference.count("test"), split == "80,15,5" ? 1u : 0u);
      const auto reader = make(prefix, split, recipe(16, seed));
      for (const auto& [name, samples] : reference) {
        SCOPED_TRACE(name);
        ASSERT_GT(samples.size(), 5u);
        const Batch batch = reader->read(BatchRequest{name, 0, static_cast<int>(samples.size())});
        for (std::size_t b = 0; b < samples.size(); ++b)
          ASSERT_EQ(sample_tokens(batch, static_cast<std::int64_t>(b)), samples[b]) << "sample " << b;
      }
    }
  }
}

TEST(IndexedReader, RelativePrefixIsFromTheCurrentDirectory) {
  const fs::path dir = work_dir();
  write_dataset(dir / "ds", random_docs(10, 20, 50257, 7));
  const fs::path before = fs::current_path();
  fs::current_path(dir);
  EXPECT_NO_THROW(make("ds", "1", recipe(8))->read(BatchRequest{"train", 0, 2}));
  EXPECT_THAT([] { make("elsewhere/ds", "1", recipe(8)); },
              ThrowsMessage<Error>(AllOf(
                  HasSubstr("elsewhere/ds.idx does not exist"),
                  HasSubstr("a relative prefix is taken from the current directory, " + dir.string()))));
  fs::current_path(before);
}

// ---- errors ----

TEST(IndexedReaderErrors, EmptySplitNamesTheSplitAndItsDocuments) {
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(10, 20, 50257, 8));
  const auto zero_weight = make(prefix, "1,0,1", recipe(8));
  EXPECT_NO_THROW(zero_weight->read(BatchRequest{"test", 0, 1}));
  EXPECT_THAT(
      [&] {
        zero_weight->read(BatchRequest{"valid", 0, 1});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("reader 'indexed'"), HasSubstr("split \"valid\" is empty"),
                                 HasSubstr("reader.split = \"1,0,1\" gives it 0 of the 10 documents of " +
                                           prefix.string() + " (documents [5, 5))"))));
  // Weights too small for 10 documents.
  const auto too_few = make(prefix, "969,30,1", recipe(8));
  EXPECT_THAT(
      [&] {
        too_few->read(BatchRequest{"test", 0, 1});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("split \"test\" is empty"), HasSubstr("0 of the 10 documents"),
                                 HasSubstr("give it a larger weight or use a dataset with more documents"))));
}

TEST(IndexedReaderErrors, SplitWithoutTokens) {
  const fs::path prefix = write_dataset(work_dir() / "ds", {{1, 2, 3}, {4, 5}, {}, {}});
  const auto reader = make(prefix, "1,1", recipe(2));
  EXPECT_THAT(
      [&] {
        reader->read(BatchRequest{"valid", 0, 1});
      },
      ThrowsMessage<Error>(HasSubstr("split \"valid\" has 2 documents of " + prefix.string() +
                                     " (documents [2, 4)) but they hold no tokens")));
}

TEST(IndexedReaderErrors, UnknownSplitAndBadRequests) {
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(10, 20, 50257, 9));
  const auto reader = make(prefix, "969,30,1", recipe(8));
  EXPECT_THAT(
      [&] {
        reader->read(BatchRequest{"validation", 0, 1});
      },
      ThrowsMessage<Error>(
          HasSubstr("unknown split \"validation\"; the splits are \"train\", \"valid\", \"test\"")));
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

TEST(IndexedReaderErrors, MissingDatasetNamesTheKeyAndTheFile) {
  const fs::path prefix = work_dir() / "nope";
  EXPECT_THAT(
      [&] { make(prefix, "969,30,1", recipe(8)); },
      ThrowsMessage<Error>(AllOf(HasSubstr("recipe.toml:3:10: reader.prefix = \"" + prefix.string() + "\""),
                                 HasSubstr(prefix.string() + ".idx does not exist"))));
}

TEST(IndexedReaderErrors, BadSplitKey) {
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(10, 20, 50257, 10));
  EXPECT_THAT(
      [&] { make(prefix, "9,x", recipe(8)); },
      ThrowsMessage<Error>(HasSubstr("recipe.toml:4:9: reader.split \"9,x\": \"x\" is not a number")));
}

TEST(IndexedReaderErrors, BadRecipe) {
  const fs::path prefix = write_dataset(work_dir() / "ds", random_docs(10, 20, 50257, 11));
  EXPECT_THAT([&] { make(prefix, "1", recipe(8, -1)); },
              ThrowsMessage<Error>(HasSubstr("train.seed must be in [0, 4294967295]")));
  EXPECT_THAT([&] { make(prefix, "1", recipe(8, 4294967296)); },
              ThrowsMessage<Error>(HasSubstr("got 4294967296")));
  EXPECT_THAT([&] { make(prefix, "1", recipe(0)); },
              ThrowsMessage<Error>(HasSubstr("model.seq_len must be at least 1, got 0")));
  Table no_seq_len = recipe(8);
  no_seq_len.find("model")->as_table().erase("seq_len");
  EXPECT_THAT([&] { make(prefix, "1", no_seq_len); },
              ThrowsMessage<Error>(HasSubstr("the recipe needs an integer model.seq_len")));
}

TEST(IndexedReaderErrors, TokenOutsideTheVocabulary) {
  const fs::path prefix = write_dataset(work_dir() / "ds", {{1, 2, 3, 4}, {5, 70, 6}});
  const auto reader = make(prefix, "1", recipe(6, 1234, 64));
  EXPECT_THAT(
      [&] {
        reader->read(BatchRequest{"train", 0, 1});
      },
      ThrowsMessage<Error>(AllOf(HasSubstr("token 70 at offset 1 of document 1 in " + prefix.string()),
                                 HasSubstr("outside the model's vocabulary [0, model.vocab_size = 64)"))));
}

}  // namespace
}  // namespace mtnlg::readers
