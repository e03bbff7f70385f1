#include "blend_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::readers {
namespace {

constexpr const char* kSplits[] = {"train", "valid", "test"};

[[noreturn]] void at(const SourcePos& pos, const std::string& message) {
  fail(str(pos.str(), ": ", message));
}

BlendedDataset open_entry(const Value& entry, int n, const std::string& split, const Table& recipe) {
  if (!entry.is_table())
    at(entry.pos,
       str("reader.datasets entry ", n, " must be a table {name = \"...\", prefix = \"...\", weight = W}"));
  const Table& t = entry.as_table();
  for (const auto& [key, value] : t)
    if (key != "name" && key != "prefix" && key != "weight")
      at(value.pos,
         str("unknown key '", key, "' in reader.datasets entry ", n, "; an entry has name, prefix, weight"));
  const Value* prefix = t.find("prefix");
  if (prefix == nullptr || !prefix->is_string())
    at(t.pos, str("reader.datasets entry ", n, " needs prefix = \"<path>\""));
  const Value* weight = t.find("weight");
  if (weight == nullptr || !(weight->is_float() || weight->is_int()))
    at(t.pos, str("reader.datasets entry ", n, " needs a numeric weight (its share of the samples)"));
  const double w = weight->is_float() ? weight->as_float() : static_cast<double>(weight->as_int());
  if (!(w > 0.0)) at(weight->pos, str("reader.datasets entry ", n, ": weight must be > 0, got ", w));
  BlendedDataset d;
  const Value* name = t.find("name");
  if (name != nullptr && !name->is_string()) at(name->pos, "reader.datasets name must be a string");
  d.name =
      name != nullptr ? name->as_string() : std::filesystem::path(prefix->as_string()).filename().string();
  d.weight = w;
  Table params;
  params.pos = t.pos;
  params.set("prefix", Value(prefix->as_string(), prefix->pos));
  params.set("split", Value(split));
  d.reader = std::make_unique<IndexedReader>(CreateArgs{params, recipe});
  d.reader->set_component_label(str("reader 'blend' dataset '", d.name, "'"));
  return d;
}

std::int64_t split_tokens(const IndexedReader& r) {
  const SequenceRange range = r.range("train");
  std::int64_t n = 0;
  for (std::int64_t s = range.begin; s < range.end; ++s) n += r.dataset().sequence_lengths()[s];
  return n;
}

}  // namespace

BlendReader::BlendReader(const CreateArgs& args) {
  const Value& list = *args.params.find("datasets");
  if (!list.is_array() || list.as_array().empty())
    at(list.pos, "reader.datasets must be a non-empty array of {name, prefix, weight} tables");
  const std::string& split = args.params.get_string("split");
  std::set<std::string> names;
  int n = 0;
  for (const Value& entry : list.as_array()) {
    datasets_.push_back(open_entry(entry, ++n, split, args.recipe));
    if (!names.insert(datasets_.back().name).second)
      at(entry.pos,
         str("two reader.datasets entries are named '", datasets_.back().name, "'; names must differ"));
  }
  seq_len_ = datasets_.front().reader->seq_len();

  std::int64_t samples = args.params.get_int("report_samples");
  if (samples == 0) {
    const Value* steps = args.recipe.find_path("train.steps");
    const Value* batch = args.recipe.find_path("train.global_batch");
    if (steps != nullptr && batch != nullptr && steps->is_int() && batch->is_int())
      samples = steps->as_int() * batch->as_int();
  }
  if (samples <= 0) return;
  log_info("reader blend: ", datasets_.size(), " datasets over the run's first ", samples,
           " training samples (", samples * seq_len_, " tokens):");
  log_info("  dataset                     weight %  realised %   tokens drawn  train-split tokens   epochs");
  for (const BlendShare& s : shares(samples)) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-26s %9.2f %11.2f %14lld %19lld %8.2f", s.name.c_str(),
                  100.0 * s.weight, 100.0 * s.realised, static_cast<long long>(s.tokens),
                  static_cast<long long>(s.split_tokens), s.epochs);
    log_info(line);
  }
}

std::vector<BlendShare> BlendReader::shares(std::int64_t samples) {
  BlendIndex& train = index("train");
  const std::vector<std::int64_t> counts = train.counts(samples);
  std::vector<BlendShare> out;
  for (std::size_t d = 0; d < datasets_.size(); ++d) {
    BlendShare s;
    s.name = datasets_[d].name;
    s.weight = train.weights()[d];
    s.realised = static_cast<double>(counts[d]) / static_cast<double>(samples);
    s.tokens = counts[d] * seq_len_;
    s.split_tokens = split_tokens(*datasets_[d].reader);
    s.epochs = s.split_tokens > 0 ? static_cast<double>(s.tokens) / static_cast<double>(s.split_tokens) : 0.0;
    out.push_back(s);
  }
  return out;
}

BlendIndex& BlendReader::index(const std::string& split) {
  for (int i = 0; i < 3; ++i) {
    if (split != kSplits[i]) continue;
    if (!indices_[i]) {
      std::vector<double> weights;
      for (const BlendedDataset& d : datasets_) weights.push_back(d.weight);
      indices_[i].emplace(std::move(weights));
    }
    return *indices_[i];
  }
  fail(str("unknown split \"", split, "\"; the splits are \"train\", \"valid\", \"test\""));
}

Batch BlendReader::do_read(const BatchRequest& request) {
  MTNLG_CHECK(request.first_sample >= 0 && request.samples >= 1,
              str("asked for ", request.samples, " samples from sample ", request.first_sample,
                  "; need samples >= 1 and first_sample >= 0"));
  BlendIndex& blend = index(request.split);
  const std::int64_t n = request.samples, t = seq_len_;
  Batch batch{host_tensor({n, t}, DType::i32), host_tensor({n, t}, DType::i32)};  // (samples, seq_len) each
  for (std::int64_t b = 0; b < n; ++b) {
    const auto [d, k] = blend.at(request.first_sample + b);
    const Batch one = datasets_[d].reader->read(BatchRequest{request.split, k, 1});
    std::memcpy(batch.inputs.data_as<std::int32_t>() + b * t, one.inputs.data(), t * sizeof(std::int32_t));
    std::memcpy(batch.targets.data_as<std::int32_t>() + b * t, one.targets.data(), t * sizeof(std::int32_t));
  }
  return batch;
}

}  // namespace mtnlg::readers
