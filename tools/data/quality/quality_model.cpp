#include "quality_model.hpp"

#include <cmath>
#include <fstream>
#include <iterator>

#include "feature_hash.hpp"
#include "io/atomic_output_file.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::quality {

namespace {

using ordered_json = nlohmann::ordered_json;

// The feature extraction of features.hpp, as the model file records it. A model whose header says anything
// else was made by other code and its weights would mean something else: refuse it.
ordered_json feature_header(std::uint32_t count) {
  return ordered_json{{"count", count},
                      {"hash", kFeatureHashName},
                      {"ngrams", {1, 2}},
                      {"lowercase", true},
                      {"words", "ascii-alnum-and-non-ascii-bytes"},
                      {"values", "l2-normalised-counts"}};
}

}  // namespace

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double QualityModel::logit(const SparseFeatures& x) const {
  double z = bias;
  for (const auto& [i, v] : x) z += weights[i] * v;
  return z;
}

double QualityModel::score(const SparseFeatures& x) const {
  return sigmoid(logit(x));
}

void QualityModel::save(const std::filesystem::path& path) const {
  ordered_json header{{"format", kModelFormat},
                      {"version", kModelVersion},
                      {"features", feature_header(feature_count)},
                      {"training", training.is_null() ? ordered_json::object() : training},
                      {"bias", bias}};
  // The header on one line, then one [index, weight] per line: readable with head/grep, and diffs well.
  std::string text = header.dump();
  text.pop_back();  // the closing brace: the weights go inside the same object
  text += ",\"weights\":[";
  bool first = true;
  for (std::uint32_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0.0) continue;
    text += first ? "\n[" : ",\n[";
    text += std::to_string(i);
    text += ',';
    text += ordered_json(weights[i]).dump();  // the shortest text that reads back as the same double
    text += ']';
    first = false;
  }
  text += "\n]}\n";
  AtomicOutputFile out(path);
  out.stream() << text;
  out.commit();
}

QualityModel QualityModel::load(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  MTNLG_CHECK(in.good() && !std::filesystem::is_directory(path),
              str("cannot read model ", name, ": no such file or not readable"));
  ordered_json j;
  try {
    j = ordered_json::parse(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::exception& e) {
    fail(str(name, ": not a quality model (not JSON: ", e.what(), ")"));
  }
  MTNLG_CHECK(j.is_object() && j.value("format", "") == kModelFormat,
              str(name, ": not a quality model (no \"format\": \"", kModelFormat, "\")"));
  const auto version = j.find("version");
  MTNLG_CHECK(version != j.end() && version->is_number_integer() && *version == kModelVersion,
              str(name, ": unsupported model version ", version == j.end() ? "(none)" : version->dump(),
                  "; this mtnlg-data reads version ", kModelVersion));
  QualityModel m;
  const auto features = j.find("features");
  MTNLG_CHECK(features != j.end() && features->is_object() && features->contains("count") &&
                  (*features)["count"].is_number_unsigned() && (*features)["count"] > 0 &&
                  (*features)["count"] <= 0xffffffffULL,
              str(name, ": corrupt model: \"features\".\"count\" must be a positive 32-bit integer"));
  m.feature_count = (*features)["count"].get<std::uint32_t>();
  MTNLG_CHECK(*features == feature_header(m.feature_count),
              str(name, ": the model's feature extraction ", features->dump(), " is not this mtnlg-data's ",
                  feature_header(m.feature_count).dump()));
  const auto bias = j.find("bias");
  MTNLG_CHECK(bias != j.end() && bias->is_number() && std::isfinite(bias->get<double>()),
              str(name, ": corrupt model: \"bias\" is not a finite number"));
  m.bias = bias->get<double>();
  m.training = j.value("training", ordered_json::object());
  const auto weights = j.find("weights");
  MTNLG_CHECK(weights != j.end() && weights->is_array(), str(name, ": corrupt model: no \"weights\" array"));
  m.weights.assign(m.feature_count, 0.0);
  for (std::size_t k = 0; k < weights->size(); ++k) {
    const auto& w = (*weights)[k];
    MTNLG_CHECK(w.is_array() && w.size() == 2 && w[0].is_number_unsigned() && w[0] < m.feature_count &&
                    w[1].is_number() && std::isfinite(w[1].get<double>()),
                str(name, ": corrupt model: weight ", k, " is ", w.dump(), ", not [index below ",
                    m.feature_count, ", finite number]"));
    m.weights[w[0].get<std::uint32_t>()] = w[1].get<double>();
  }
  return m;
}

}  // namespace mtnlg::data::quality
