#include "indexed_reader.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <string_view>
#include <vector>

#include "mtnlg/str.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg::readers {
namespace {

constexpr std::string_view kSplits[] = {"train", "valid", "test"};

std::int64_t recipe_int(const Table& recipe, const char* path, const char* why) {
  const Value* v = recipe.find_path(path);
  MTNLG_CHECK(v != nullptr && v->is_int(),
              str("reader indexed: the recipe needs an integer ", path, " (", why, ")"));
  return v->as_int();
}

data::IndexedDataset open_dataset(const Table& params) {
  const std::string& prefix = params.get_string("prefix");
  const std::string where = params.find("prefix")->pos.str();
  MTNLG_CHECK(!prefix.empty(),
              str(where, ": reader.prefix is empty; give the dataset's path without .bin/.idx"));
  try {
    return data::IndexedDataset::open(prefix);
  } catch (const Error& e) {
    const std::filesystem::path path(prefix);
    const std::string relative = path.is_relative()
                                     ? str(" (a relative prefix is taken from the current directory, ",
                                           std::filesystem::current_path().string(), ")")
                                     : std::string();
    fail(str(where, ": reader.prefix = \"", prefix, "\": ", e.what(), relative));
  }
}

}  // namespace

IndexedReader::IndexedReader(const CreateArgs& args)
    : dataset_(open_dataset(args.params)),
      split_text_(args.params.get_string("split")),
      seq_len_(recipe_int(args.recipe, "model.seq_len", "samples are model.seq_len + 1 tokens")) {
  const std::int64_t seed = recipe_int(args.recipe, "train.seed", "it seeds the data order");
  MTNLG_CHECK(seq_len_ >= 1, str("reader indexed: model.seq_len must be at least 1, got ", seq_len_));
  // Megatron seeds numpy.random.RandomState with it, which takes [0, 2^32).
  MTNLG_CHECK(
      seed >= 0 && seed <= std::numeric_limits<std::uint32_t>::max(),
      str("reader indexed: train.seed must be in [0, 4294967295] (it seeds numpy's RandomState, as in "
          "Megatron), got ",
          seed));
  if (const Value* v = args.recipe.find_path("model.vocab_size"); v != nullptr && v->is_int())
    vocab_ = v->as_int();

  std::array<double, 3> weights{};
  try {
    weights = parse_split_weights(split_text_);
  } catch (const Error& e) {
    fail(str(args.params.find("split")->pos.str(), ": reader.", e.what()));
  }
  ranges_ = split_sequences(weights, static_cast<std::int64_t>(dataset_.sequence_count()));
  for (int i = 0; i < 3; ++i) {
    std::int64_t tokens = 0;
    for (std::int64_t s = ranges_[i].begin; s < ranges_[i].end; ++s) tokens += dataset_.sequence_lengths()[s];
    // An unusable split is an error only when it is read: a run without validation needs no valid split.
    if (ranges_[i].size() > 0 && tokens > 0)
      samplers_[i] = std::make_unique<GptSampler>(dataset_.sequence_lengths(), ranges_[i], seq_len_,
                                                  static_cast<std::uint32_t>(seed));
  }
}

int IndexedReader::split_index(const std::string& split) const {
  std::string known;
  for (int i = 0; i < 3; ++i) {
    if (split == kSplits[i]) return i;
    known += str(i == 0 ? "" : ", ", "\"", kSplits[i], "\"");
  }
  fail(str("unknown split \"", split, "\"; the splits are ", known));
}

SequenceRange IndexedReader::range(const std::string& split) const {
  return ranges_[split_index(split)];
}

Batch IndexedReader::do_read(const BatchRequest& request) {
  const int which = split_index(request.split);
  MTNLG_CHECK(request.first_sample >= 0 && request.samples >= 1,
              str("asked for ", request.samples, " samples from sample ", request.first_sample,
                  "; need samples >= 1 and first_sample >= 0"));
  GptSampler* sampler = samplers_[which].get();
  if (sampler == nullptr) {
    const SequenceRange& r = ranges_[which];
    const std::string prefix = dataset_.prefix().string();
    MTNLG_CHECK(r.size() > 0, str("split \"", request.split, "\" is empty: reader.split = \"", split_text_,
                                  "\" gives it 0 of the ", dataset_.sequence_count(), " documents of ",
                                  prefix, " (documents [", r.begin, ", ", r.end,
                                  ")); give it a larger weight or use a dataset with more documents"));
    fail(str("split \"", request.split, "\" has ", r.size(), " documents of ", prefix, " (documents [",
             r.begin, ", ", r.end, ")) but they hold no tokens"));
  }

  const std::int64_t n = request.samples, t_len = seq_len_;
  Batch batch{host_tensor({n, t_len}, DType::i32), host_tensor({n, t_len}, DType::i32)};
  std::int32_t* inputs = batch.inputs.data_as<std::int32_t>();    // (samples, seq_len)
  std::int32_t* targets = batch.targets.data_as<std::int32_t>();  // (samples, seq_len)
  std::vector<std::int32_t> x;                                    // (seq_len + 1,) one sample
  for (std::int64_t b = 0; b < n; ++b) {
    x.clear();
    for (const TokenRun& run : sampler->runs(request.first_sample + b)) {
      const auto part =
          dataset_.tokens(static_cast<std::size_t>(run.sequence), static_cast<std::size_t>(run.offset),
                          static_cast<std::size_t>(run.length));
      if (vocab_) {
        for (std::size_t i = 0; i < part.size(); ++i)
          MTNLG_CHECK(part[i] >= 0 && part[i] < *vocab_,
                      str("token ", part[i], " at offset ", run.offset + static_cast<std::int64_t>(i),
                          " of document ", run.sequence, " in ", dataset_.prefix().string(),
                          " is outside the model's vocabulary [0, model.vocab_size = ", *vocab_,
                          "); was the dataset tokenized for another model?"));
      }
      x.insert(x.end(), part.begin(), part.end());
    }
    MTNLG_CHECK(static_cast<std::int64_t>(x.size()) == t_len + 1,
                str("sample ", request.first_sample + b, " has ", x.size(), " tokens, not ", t_len + 1));
    std::copy(x.begin(), x.end() - 1, inputs + b * t_len);
    std::copy(x.begin() + 1, x.end(), targets + b * t_len);
  }
  return batch;
}

}  // namespace mtnlg::readers
