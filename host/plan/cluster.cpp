#include "plan/cluster.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "recipe/parse_toml.hpp"
#include "recipe/recipe_error.hpp"
#include "recipe/suggest.hpp"

namespace mtnlg::host::plan {

namespace {

// Software assumptions: how mtnlg runs, not what the hardware is. Defaults the planner adds when the cluster
// file does not override them.
struct Default {
  const char* key;
  double value;
  const char* unit;
  const char* source;
};
const Default kSoftwareDefaults[] = {
    {"memory_traffic_factor", 2.0, "x",
     "mtnlg: every byte an op allocates on the meta backend is written once and read once (unfused ops)"},
    {"dp_overlap", 0.0, "fraction",
     "mtnlg engine: data-parallel buckets are posted when the step's last micro-batch finishes a layer's "
     "backward, so the all-reduce overlaps almost none of the step"},
};

// Where neither the cluster file nor --assume gives it, attention_efficiency is gemm_efficiency's value.
constexpr const char* kAttentionEfficiency = "attention_efficiency";
constexpr const char* kAttentionDefaultSource =
    "planner default: gemm_efficiency's value, about what a FlashAttention-2-class kernel reaches at long "
    "sequences: PyTorch 2.11's causal scaled_dot_product_attention ran the 1.3B benchmark's attention "
    "(4 x 16 heads x 2048 x 128, bf16) forward and backward at 0.72 of the H200's peak counted in full "
    "(0.47 at GPT-2 124M's 1024 x 64; tools/bench/attention-gpu, 2026-11-28); mtnlg's own tensor-core "
    "kernels reached 0.12 (0.08)";

bool is_efficiency(const std::string& key) {
  return key == "gemm_efficiency" || key == "memory_efficiency" || key == kAttentionEfficiency;
}

bool in_range(const std::string& key, double v) {
  if (is_efficiency(key)) return v > 0.0 && v <= 1.0;
  if (key == "dp_overlap") return v >= 0.0 && v <= 1.0;
  if (key == "reserved_memory_gb") return v >= 0.0;
  return v > 0.0;
}

std::string range_text(const std::string& key) {
  if (is_efficiency(key)) return "in (0, 1]";
  if (key == "dp_overlap") return "in [0, 1]";
  if (key == "reserved_memory_gb") return ">= 0";
  return "> 0";
}

std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& [k, _] : required_assumptions()) keys.push_back(k);
  for (const Default& d : kSoftwareDefaults) keys.emplace_back(d.key);
  keys.emplace_back(kAttentionEfficiency);
  return keys;
}

// " (did you mean 'x'?)" or nothing.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::vector<std::string_view> views(candidates.begin(), candidates.end());
  const auto match = recipe::closest_match(word, views);
  return match ? str(" (did you mean '", *match, "'?)") : std::string();
}

std::string list_stock() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(stock_cluster_dir(), ec))
    if (e.path().extension() == ".toml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none found)" : out;
}

}  // namespace

const std::map<std::string, std::string>& required_assumptions() {
  static const std::map<std::string, std::string> keys = {
      {"gpu_memory_gb", "memory of one GPU, GB (10^9 bytes)"},
      {"reserved_memory_gb", "memory per GPU that training cannot use (runtime context, library workspaces)"},
      {"peak_tflops_bf16", "dense bf16 peak of one GPU, TFLOP/s"},
      {"peak_tflops_fp16", "dense fp16 peak of one GPU, TFLOP/s"},
      {"peak_tflops_f32", "f32 peak of one GPU, TFLOP/s"},
      {"peak_tflops_tf32", "dense TF32 tensor-core peak of one GPU (f32 GEMMs with backend.tf32), TFLOP/s"},
      {"peak_tflops_f64", "f64 peak of one GPU, TFLOP/s"},
      {"gemm_efficiency", "achieved share of the peak in the model's GEMMs"},
      {"hbm_gbps", "device memory bandwidth of one GPU, GB/s"},
      {"memory_efficiency", "achieved share of hbm_gbps in memory-bound ops"},
      {"nvlink_busbw_gbps", "all-reduce bus bandwidth among a node's GPUs, GB/s (nccl-tests busbw)"},
      {"nic_gbps", "achieved bandwidth of one network adapter between nodes, GB/s"},
      {"nics_per_node", "network adapters per node for compute traffic"},
  };
  return keys;
}

std::filesystem::path stock_cluster_dir() {
  return MTNLG_CLUSTER_DIR;
}

double Cluster::value(const std::string& key) const {
  const auto it = assumptions.find(key);
  MTNLG_CHECK(it != assumptions.end(), str(file.string(), ": no value for '", key, "'"));
  return it->second.value;
}

Cluster load_cluster(const std::string& name_or_path) {
  std::filesystem::path file = name_or_path;
  const bool is_path = name_or_path.find('/') != std::string::npos || file.extension() == ".toml";
  if (!is_path) file = stock_cluster_dir() / (name_or_path + ".toml");
  std::ifstream in(file);
  if (!in) {
    if (is_path) throw Error(str("cluster file ", file.string(), " cannot be read"));
    throw Error(str("no cluster named '", name_or_path, "'; the stock clusters are ", list_stock(), " (in ",
                    stock_cluster_dir().string(), "), or pass the path of your own .toml file"));
  }
  std::stringstream text;
  text << in.rdbuf();
  const Table doc = recipe::parse_toml(text.str(), file.string());

  Cluster cluster;
  cluster.file = file;
  const auto at = [&](const Value& v, const std::string& what) { throw recipe::RecipeError(v.pos, what); };
  const std::vector<std::string> top = {"name", "description", "gpus_per_node", "assumptions"};
  for (const auto& [key, v] : doc)
    if (std::find(top.begin(), top.end(), key) == top.end())
      at(v, str("unknown key '", key, "' in a cluster file", did_you_mean(key, top),
                "; it has name, description, gpus_per_node and [assumptions]"));
  const Value* name = doc.find("name");
  if (name == nullptr || !name->is_string())
    throw recipe::RecipeError(doc.pos, "a cluster file needs name = \"...\"");
  cluster.name = name->as_string();
  if (const Value* d = doc.find("description"); d != nullptr && d->is_string())
    cluster.description = d->as_string();
  const Value* gpus = doc.find("gpus_per_node");
  if (gpus == nullptr || !gpus->is_int() || gpus->as_int() < 1)
    throw recipe::RecipeError(gpus ? gpus->pos : doc.pos, "gpus_per_node must be an integer >= 1");
  cluster.gpus_per_node = static_cast<int>(gpus->as_int());

  const Value* table = doc.find("assumptions");
  if (table == nullptr || !table->is_table())
    throw recipe::RecipeError(doc.pos, "a cluster file needs an [assumptions] table");
  const std::vector<std::string> known = known_keys();
  for (const auto& [key, v] : table->as_table()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      at(v, str("unknown assumption '", key, "'", did_you_mean(key, known)));
    Assumption a;
    a.where = v.pos.str();
    const Value* number = &v;
    if (v.is_table()) {
      const Table& t = v.as_table();
      for (const auto& [k, field] : t)
        if (k != "value" && k != "unit" && k != "source")
          at(field, str("assumptions.", key, ": unknown field '", k, "' (value, unit, source)"));
      number = t.find("value");
      if (number == nullptr) at(v, str("assumptions.", key, " needs a value"));
      if (const Value* u = t.find("unit"); u != nullptr && u->is_string()) a.unit = u->as_string();
      const Value* source = t.find("source");
      if (source == nullptr || !source->is_string() || source->as_string().empty())
        at(v, str("assumptions.", key, " needs a source: where the number comes from"));
      a.source = source->as_string();
    } else {
      at(v, str("assumptions.", key, " must be { value = ..., unit = \"...\", source = \"...\" }"));
    }
    if (!number->is_number()) at(*number, str("assumptions.", key, ".value must be a number"));
    a.value = number->as_float();
    if (!in_range(key, a.value))
      at(*number, str("assumptions.", key, " = ", a.value, " must be ", range_text(key)));
    cluster.assumptions[key] = a;
  }
  for (const auto& [key, meaning] : required_assumptions())
    if (!cluster.assumptions.contains(key))
      throw recipe::RecipeError(table->pos,
                                str("the cluster file gives no assumptions.", key, " (", meaning, ")"));
  return cluster;
}

void apply_assumptions(Cluster& cluster, const std::vector<std::string>& overrides) {
  for (const Default& d : kSoftwareDefaults)
    if (!cluster.assumptions.contains(d.key))
      cluster.assumptions[d.key] = Assumption{d.value, d.unit, d.source, "(planner default)"};
  const std::vector<std::string> known = known_keys();
  for (const std::string& o : overrides) {
    const auto eq = o.find('=');
    MTNLG_CHECK(eq != std::string::npos && eq > 0, str("--assume ", o, ": expected KEY=VALUE"));
    const std::string key = o.substr(0, eq), text = o.substr(eq + 1);
    MTNLG_CHECK(std::find(known.begin(), known.end(), key) != known.end(),
                str("--assume ", o, ": unknown assumption '", key, "'", did_you_mean(key, known)));
    double v = 0.0;
    std::size_t used = 0;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MTNLG_CHECK(used == text.size() && !text.empty(), str("--assume ", o, ": '", text, "' is not a number"));
    MTNLG_CHECK(in_range(key, v), str("--assume ", o, ": ", key, " must be ", range_text(key)));
    Assumption& a = cluster.assumptions[key];
    a.value = v;
    a.source = "set on the command line";
    a.where = "--assume " + o;
  }
  if (!cluster.assumptions.contains(kAttentionEfficiency)) {
    const Assumption& gemm = cluster.assumptions.at("gemm_efficiency");
    cluster.assumptions[kAttentionEfficiency] =
        Assumption{gemm.value, gemm.unit, kAttentionDefaultSource, "(planner default)"};
  }
}

}  // namespace mtnlg::host::plan
