#include "synthetic_reader.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "mtnlg/rng.hpp"
#include "mtnlg/str.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg::readers {
namespace {

constexpr std::string_view kSplits[] = {"train", "valid", "test"};

std::int64_t recipe_int(const Table& recipe, const char* path) {
  const Value* v = recipe.find_path(path);
  MTNLG_CHECK(v != nullptr && v->is_int(), str("reader synthetic: the recipe needs an integer ", path,
                                               " (the synthetic data is shaped by it)"));
  return v->as_int();
}

// Uniform integer in [0, n) from a uniform draw u in (0, 1]: ⌈u·n⌉ − 1. With 53 random bits the bias is
// below n / 2^53 — nothing for test data.
std::int32_t token_from(double u, std::int64_t n) {
  const auto t = static_cast<std::int64_t>(std::ceil(u * static_cast<double>(n))) - 1;
  return static_cast<std::int32_t>(t < 0 ? 0 : (t >= n ? n - 1 : t));
}

}  // namespace

SyntheticReader::SyntheticReader(const CreateArgs& args)
    : pattern_(args.params.get_string("pattern") == "random" ? Pattern::random : Pattern::counting),
      vocab_(args.params.get_int("vocab")),
      seq_len_(recipe_int(args.recipe, "model.seq_len")),
      seed_(static_cast<std::uint64_t>(recipe_int(args.recipe, "train.seed"))) {
  const std::string& pattern = args.params.get_string("pattern");
  MTNLG_CHECK(pattern == "counting" || pattern == "random",
              str(args.params.where("pattern"), ": reader.pattern must be \"counting\" or \"random\", got \"",
                  pattern, "\""));
  const std::int64_t model_vocab = recipe_int(args.recipe, "model.vocab_size");
  MTNLG_CHECK(seq_len_ >= 1, str("reader synthetic: model.seq_len must be at least 1, got ", seq_len_));
  if (vocab_ == 0) vocab_ = model_vocab;
  const std::string where = args.params.where("vocab");
  MTNLG_CHECK(vocab_ >= 1,
              str(where, ": reader.vocab must be at least 1 (or 0 = model.vocab_size), got ", vocab_));
  // A token the embedding has no row for would fail (or read garbage) far from here.
  MTNLG_CHECK(vocab_ <= model_vocab, str(where, ": reader.vocab (", vocab_, ") exceeds model.vocab_size (",
                                         model_vocab, "); tokens must be ids the model can embed"));
  MTNLG_CHECK(vocab_ <= std::numeric_limits<std::int32_t>::max(),
              str(where, ": reader.vocab (", vocab_, ") does not fit the i32 token ids"));
}

Batch SyntheticReader::do_read(const BatchRequest& request) {
  std::string splits;
  bool known = false;
  for (std::string_view s : kSplits) {
    known |= request.split == s;
    splits += str(splits.empty() ? "" : ", ", "\"", s, "\"");
  }
  MTNLG_CHECK(known, str("reader synthetic: unknown split \"", request.split, "\"; the splits are ", splits));
  MTNLG_CHECK(request.first_sample >= 0 && request.samples >= 1,
              str("reader synthetic: asked for ", request.samples, " samples from sample ",
                  request.first_sample, "; need samples >= 1 and first_sample >= 0"));

  const std::int64_t n = request.samples, t_len = seq_len_;
  Batch batch{host_tensor({n, t_len}, DType::i32), host_tensor({n, t_len}, DType::i32)};
  std::int32_t* inputs = batch.inputs.data_as<std::int32_t>();    // (samples, seq_len)
  std::int32_t* targets = batch.targets.data_as<std::int32_t>();  // (samples, seq_len)
  // The split is part of the stream's name, so train, valid and test never share a sequence by construction.
  const std::string stream =
      str("synthetic-", pattern_ == Pattern::counting ? "counting-" : "random-", request.split);
  for (std::int64_t b = 0; b < n; ++b) {
    const std::int64_t s = request.first_sample + b;
    const rng::Key key = rng::derive_key(seed_, s, stream);
    std::int32_t* in = inputs + b * t_len;
    std::int32_t* tg = targets + b * t_len;
    // x_0 … x_T: x_i is in[i] for i < T and tg[i − 1] for i ≥ 1.
    std::int32_t x = token_from(rng::uniform(key, 0), vocab_);
    for (std::int64_t i = 0; i < t_len; ++i) {
      in[i] = x;
      if (pattern_ == Pattern::counting)
        x = static_cast<std::int32_t>((static_cast<std::int64_t>(x) + 1) % vocab_);
      else
        x = token_from(rng::uniform(key, static_cast<std::uint64_t>(i + 1)), vocab_);
      tg[i] = x;
    }
  }
  return batch;
}

}  // namespace mtnlg::readers
