#include "gpt_samples.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "mtnlg/error.hpp"
#include "mtnlg/rng.hpp"
#include "mtnlg/str.hpp"
#include "numpy_random_state.hpp"

namespace mtnlg::readers {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

// ---- split ----

std::array<double, 3> parse_split_weights(std::string_view text) {
  const std::string hint =
      "; write up to three non-negative weights for train, valid, test, e.g. \"969,30,1\"";
  std::array<double, 3> w{0.0, 0.0, 0.0};
  std::size_t count = 0;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view field = trim(rest.substr(0, comma));
    MTNLG_CHECK(count < 3, str("split \"", text, "\" has more than three weights", hint));
    double v = 0.0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    MTNLG_CHECK(!field.empty() && ec == std::errc() && end == field.data() + field.size() && std::isfinite(v),
                str("split \"", text, "\": \"", field, "\" is not a number", hint));
    MTNLG_CHECK(v >= 0.0, str("split \"", text, "\": weight ", field, " is negative", hint));
    w[count++] = v;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  // numpy.sum of three float64 adds left to right; then w / sum elementwise (utils.py normalize).
  const double sum = (w[0] + w[1]) + w[2];
  MTNLG_CHECK(sum > 0.0, str("split \"", text, "\": the weights add up to 0", hint));
  for (double& x : w) x /= sum;
  return w;
}

std::array<SequenceRange, 3> split_sequences(const std::array<double, 3>& weights, std::int64_t sequences) {
  // Bookends 0, w0, w0 + w1, w0 + w1 + w2, summed in that order as functools.reduce does; then
  // int(round(bookend · float(n))) — Python rounds half to even, as nearbyint does in the default mode.
  const double n = static_cast<double>(sequences);
  std::array<double, 4> bookend{0.0, 0.0, 0.0, 0.0};
  for (int i = 0; i < 3; ++i) bookend[i + 1] = bookend[i] + weights[i];
  std::array<SequenceRange, 3> ranges;
  for (int i = 0; i < 3; ++i) {
    // A weight of 0 is Megatron's None split: nothing, wherever the rounding of its bookends would land.
    if (!(bookend[i + 1] > bookend[i])) {
      const auto at = static_cast<std::int64_t>(std::nearbyint(bookend[i] * n));
      ranges[i] = {at, at};
      continue;
    }
    ranges[i] = {static_cast<std::int64_t>(std::nearbyint(bookend[i] * n)),
                 static_cast<std::int64_t>(std::nearbyint(bookend[i + 1] * n))};
  }
  return ranges;
}

// ---- sample index ----

std::vector<SamplePosition> build_sample_index(std::span<const std::int32_t> sequence_lengths,
                                               std::span<const std::int32_t> document_index,
                                               std::int64_t seq_len, std::int64_t num_epochs,
                                               std::int64_t tokens_per_epoch) {
  MTNLG_CHECK(seq_len >= 1 && num_epochs >= 1 && tokens_per_epoch >= 1,
              str("build_sample_index: need seq_len, num_epochs and tokens_per_epoch >= 1, got ", seq_len,
                  ", ", num_epochs, ", ", tokens_per_epoch));
  const std::int64_t num_samples = (num_epochs * tokens_per_epoch - 1) / seq_len;
  std::vector<SamplePosition> index;
  index.reserve(static_cast<std::size_t>(num_samples) + 1);
  std::int64_t position = 0, offset = 0;  // in document_index, in the sequence
  index.push_back({position, offset});
  for (std::int64_t sample = 1; sample <= num_samples; ++sample) {
    // Take seq_len + 1 tokens; the last one taken is where the next sample starts (the overlap of one).
    std::int64_t remaining = seq_len + 1;
    while (remaining != 0) {
      MTNLG_CHECK(position < static_cast<std::int64_t>(document_index.size()),
                  str("build_sample_index: the document index (", document_index.size(),
                      " entries) holds fewer than ", num_epochs, " × ", tokens_per_epoch, " tokens"));
      const std::int64_t length =
          sequence_lengths[static_cast<std::size_t>(document_index[position])] - offset;
      remaining -= length;
      if (remaining <= 0) {
        offset += remaining + length - 1;
        remaining = 0;
      } else {
        ++position;
        offset = 0;
      }
    }
    index.push_back({position, offset});
  }
  return index;
}

// ---- sampler ----

GptSampler::GptSampler(std::span<const std::int32_t> sequence_lengths, SequenceRange range,
                       std::int64_t seq_len, std::uint32_t seed)
    : range_(range), seq_len_(seq_len), tokens_per_epoch_(0), seed_(seed) {
  MTNLG_CHECK(seq_len >= 1, str("seq_len must be at least 1, got ", seq_len));
  MTNLG_CHECK(range.begin >= 0 && range.begin < range.end &&
                  range.end <= static_cast<std::int64_t>(sequence_lengths.size()),
              str("sequences [", range.begin, ", ", range.end,
                  ") are not a non-empty range of the dataset's ", sequence_lengths.size()));
  // Megatron's document index is int32 (gpt_dataset.py asserts it).
  MTNLG_CHECK(range.end - 1 <= std::numeric_limits<std::int32_t>::max(),
              str("sequence ids up to ", range.end - 1, " do not fit the int32 document index"));
  lengths_.assign(sequence_lengths.begin() + range.begin, sequence_lengths.begin() + range.end);
  for (std::int32_t len : lengths_) tokens_per_epoch_ += len;
  MTNLG_CHECK(tokens_per_epoch_ > 0,
              str("sequences [", range.begin, ", ", range.end, ") hold no tokens; nothing to sample"));
}

void GptSampler::check_sample(std::int64_t sample) const {
  // (s + 1)·T + 1 + tokens_per_epoch must not overflow in epoch_of / first_sample_of.
  const std::int64_t limit =
      (std::numeric_limits<std::int64_t>::max() / 4 - tokens_per_epoch_) / seq_len_ - 2;
  MTNLG_CHECK(sample >= 0 && sample <= limit, str("sample ", sample, " is out of range [0, ", limit, "]"));
}

std::int64_t GptSampler::epoch_of(std::int64_t sample) const {
  check_sample(sample);
  const std::int64_t tokens_requested = (sample + 1) * seq_len_ + 1;
  return (tokens_requested + tokens_per_epoch_ - 1) / tokens_per_epoch_ - 1;
}

std::int64_t GptSampler::first_sample_of(std::int64_t epoch) const {
  return epoch == 0 ? 0 : (epoch * tokens_per_epoch_ - 1) / seq_len_;
}

std::shared_ptr<const GptSampler::Epoch> GptSampler::build_epoch(std::int64_t e) const {
  auto ep = std::make_shared<Epoch>();
  // Epoch 0 draws from RandomState(train.seed) exactly as Megatron does: the document shuffle, then the
  // sample shuffle. Later epochs get their own 32-bit seed.
  const std::uint32_t seed = e == 0 ? seed_ : rng::derive_key(seed_, e, "indexed-reader-epoch")[0];
  NumpyRandomState random(seed);
  ep->order.resize(lengths_.size());
  std::iota(ep->order.begin(), ep->order.end(), static_cast<std::int32_t>(range_.begin));
  random.shuffle(std::span<std::int32_t>(ep->order));
  ep->ends.resize(ep->order.size());
  std::int64_t at = 0;
  for (std::size_t j = 0; j < ep->order.size(); ++j) ep->ends[j] = at += length_of(ep->order[j]);

  const std::int64_t block = first_sample_of(e + 1) - first_sample_of(e);
  // Megatron's shuffle index is uint32 up to 2^32 − 2 samples (int64 beyond, not supported here).
  MTNLG_CHECK(block < static_cast<std::int64_t>(std::numeric_limits<std::uint32_t>::max()) - 1,
              str("epoch ", e, " has ", block, " samples; more than 2^32 - 2 per epoch is not supported"));
  ep->shuffle.resize(static_cast<std::size_t>(block));
  std::iota(ep->shuffle.begin(), ep->shuffle.end(), 0u);
  random.shuffle(std::span<std::uint32_t>(ep->shuffle));
  return ep;
}

std::shared_ptr<const GptSampler::Epoch> GptSampler::epoch(std::int64_t e) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t i = 0; i < cache_.size(); ++i) {
    if (cache_[i].first == e) {
      auto hit = cache_[i];
      cache_.erase(cache_.begin() + static_cast<std::ptrdiff_t>(i));
      cache_.push_back(hit);
      return hit.second;
    }
  }
  auto ep = build_epoch(e);
  cache_.emplace_back(e, ep);
  if (cache_.size() > kCachedEpochs) cache_.erase(cache_.begin());
  return ep;
}

std::vector<std::int32_t> GptSampler::document_order(std::int64_t e) {
  MTNLG_CHECK(e >= 0, str("epoch ", e, " does not exist"));
  return epoch(e)->order;
}

std::int64_t GptSampler::stream_sample(std::int64_t sample) {
  const std::int64_t e = epoch_of(sample);
  const std::int64_t first = first_sample_of(e);
  const auto ep = epoch(e);
  const auto q = static_cast<std::size_t>(sample - first);
  MTNLG_CHECK(q < ep->shuffle.size(), str("sample ", sample, " is outside epoch ", e, "'s block"));
  return first + ep->shuffle[q];
}

SamplePosition GptSampler::start_of(std::int64_t stream_sample) {
  check_sample(stream_sample);
  const std::int64_t token = stream_sample * seq_len_;
  const std::int64_t e = token / tokens_per_epoch_, within = token % tokens_per_epoch_;
  const auto ep = epoch(e);
  // The document holding stream token `within`: the first whose end is past it (empty documents end where the
  // previous one does, so they are never chosen).
  const auto j =
      static_cast<std::size_t>(std::upper_bound(ep->ends.begin(), ep->ends.end(), within) - ep->ends.begin());
  const std::int64_t begin = j == 0 ? 0 : ep->ends[j - 1];
  return {e * static_cast<std::int64_t>(ep->order.size()) + static_cast<std::int64_t>(j), within - begin};
}

std::vector<TokenRun> GptSampler::runs(std::int64_t sample) {
  const SamplePosition start = start_of(stream_sample(sample));
  const auto n = static_cast<std::int64_t>(lengths_.size());
  std::int64_t e = start.document / n;
  auto j = static_cast<std::size_t>(start.document % n);
  std::int64_t offset = start.offset, remaining = seq_len_ + 1;
  auto ep = epoch(e);
  std::vector<TokenRun> out;
  while (true) {
    const std::int32_t sequence = ep->order[j];
    const std::int64_t take = std::min(length_of(sequence) - offset, remaining);
    if (take > 0) out.push_back({sequence, offset, take});
    remaining -= take;
    if (remaining == 0) break;
    offset = 0;
    if (++j == ep->order.size()) {  // read on into the next epoch's order
      ep = epoch(++e);
      j = 0;
    }
  }
  return out;
}

}  // namespace mtnlg::readers
