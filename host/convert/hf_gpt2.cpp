#include "convert/hf_gpt2.hpp"

#include <charconv>
#include <cstring>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "convert/tensor_layout.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "safetensors/safetensors.hpp"
#include "training/checkpoint.hpp"
#include "training/checkpoint_model.hpp"
#include "training/recipe_schema.hpp"
#include "training/stage.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

namespace {

constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kConfigFile = "config.json";

struct ModelDims {
  std::int64_t layers = 0, hidden = 0, heads = 0, seq_len = 0, vocab = 0;
  double eps = 1e-5, init_std = 0.02, hidden_dropout = 0.0, attention_dropout = 0.0;
};

ModelDims dims_of(const Table& recipe) {
  ModelDims d;
  d.layers = recipe.find_path("model.layers")->as_int();
  d.hidden = recipe.find_path("model.hidden")->as_int();
  d.heads = recipe.find_path("model.heads")->as_int();
  d.seq_len = recipe.find_path("model.seq_len")->as_int();
  d.vocab = recipe.find_path("model.vocab_size")->as_int();
  d.init_std = recipe.find_path("model.init_std")->as_float();
  d.hidden_dropout = recipe.find_path("model.hidden_dropout")->as_float();
  d.attention_dropout = recipe.find_path("model.attention_dropout")->as_float();
  // GPT-2 has one epsilon; the final layernorm's is the one a recipe states.
  for (const Value& entry : recipe.find_path("model.stack")->as_array()) {
    const Table& t = entry.as_table();
    if (t.get_string("layer") == "layernorm" && t.contains("eps")) d.eps = t.find_path("eps")->as_float();
  }
  return d;
}

// The model on one rank, in the layout a checkpoint holds, whatever layout the recipe trains with.
Table single_rank_recipe(Registry& registry, const fs::path& recipe, std::vector<std::string> overrides) {
  for (const char* o : {"parallel.tensor=1", "parallel.pipeline=1", "parallel.data=1",
                        "parallel.virtual_stages=1", "parallel.stage_layers=[]"})
    overrides.emplace_back(o);
  return resolve_recipe(recipe, overrides, registry);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

enum class Layout { same, transposed, qkv_weight, qkv_bias, vocab_rows };

struct Placement {
  std::string hf_name;  // without the "transformer." prefix
  Layout layout = Layout::same;
};

// Where mtnlg parameter `name` ("3.attention.qkv.weight") goes in GPT-2; an error for one that has no place
// (a model that is not GPT-2: another norm, a gated MLP, untied head, ...).
Placement placement_of(const std::string& name, const ModelDims& d) {
  const auto dot = name.find('.');
  std::int64_t index = -1;
  if (dot != std::string::npos) std::from_chars(name.data(), name.data() + dot, index);
  const std::string rest = dot == std::string::npos ? "" : name.substr(dot + 1);
  if (index == 0 && rest == "word_embeddings") return {"wte.weight", Layout::vocab_rows};
  if (index == 0 && rest == "position_embeddings") return {"wpe.weight", Layout::same};
  if (index == d.layers + 1 && (rest == "weight" || rest == "bias")) return {"ln_f." + rest, Layout::same};
  if (index >= 1 && index <= d.layers) {
    const std::string h = str("h.", index - 1, ".");
    static const std::vector<std::pair<std::string, Placement>> block{
        {"ln_1.weight", {"ln_1.weight", Layout::same}},
        {"ln_1.bias", {"ln_1.bias", Layout::same}},
        {"attention.qkv.weight", {"attn.c_attn.weight", Layout::qkv_weight}},
        {"attention.qkv.bias", {"attn.c_attn.bias", Layout::qkv_bias}},
        {"attention.proj.weight", {"attn.c_proj.weight", Layout::transposed}},
        {"attention.proj.bias", {"attn.c_proj.bias", Layout::same}},
        {"ln_2.weight", {"ln_2.weight", Layout::same}},
        {"ln_2.bias", {"ln_2.bias", Layout::same}},
        {"mlp.fc.weight", {"mlp.c_fc.weight", Layout::transposed}},
        {"mlp.fc.bias", {"mlp.c_fc.bias", Layout::same}},
        {"mlp.proj.weight", {"mlp.c_proj.weight", Layout::transposed}},
        {"mlp.proj.bias", {"mlp.c_proj.bias", Layout::same}}};
    for (const auto& [suffix, p] : block)
      if (rest == suffix) return {h + p.hf_name, p.layout};
  }
  fail(str("parameter '", name, "' has no place in Hugging Face's GPT-2 (embedding, ", d.layers,
           " transformer blocks of layernorm, causal_self_attention and gelu_mlp, final layernorm, tied "
           "lm_head)"));
}

// The GPT-2 shape of an mtnlg parameter of shape `shape`.
std::vector<std::int64_t> hf_shape(const Shape& shape, Layout layout, const ModelDims& d) {
  switch (layout) {
    case Layout::transposed:
    case Layout::qkv_weight:
      return {shape[1], shape[0]};
    case Layout::vocab_rows:
      return {d.vocab, shape[1]};
    default:
      return {shape.begin(), shape.end()};
  }
}

std::vector<std::byte> to_gpt2(std::span<const std::byte> data, const Shape& shape, Layout layout,
                               const ModelDims& d, std::size_t element) {
  const std::int64_t head_dim = d.hidden / d.heads;
  switch (layout) {
    case Layout::same:
      return {data.begin(), data.end()};
    case Layout::transposed:
      return transposed(data, shape[0], shape[1], element);
    case Layout::qkv_weight:
      return transposed(qkv_rows_reordered(data, d.heads, head_dim, element * shape[1], true), shape[0],
                        shape[1], element);
    case Layout::qkv_bias:
      return qkv_rows_reordered(data, d.heads, head_dim, element, true);
    case Layout::vocab_rows:
      return first_rows(data, d.vocab, element * shape[1]);
  }
  return {};
}

// The inverse of to_gpt2; rows of the padded vocabulary are zero.
std::vector<std::byte> from_gpt2(std::span<const std::byte> data, const Shape& shape, Layout layout,
                                 const ModelDims& d, std::size_t element) {
  const std::int64_t head_dim = d.hidden / d.heads;
  switch (layout) {
    case Layout::same:
      return {data.begin(), data.end()};
    case Layout::transposed:
      return transposed(data, shape[1], shape[0], element);
    case Layout::qkv_weight:
      return qkv_rows_reordered(transposed(data, shape[1], shape[0], element), d.heads, head_dim,
                                element * shape[1], false);
    case Layout::qkv_bias:
      return qkv_rows_reordered(data, d.heads, head_dim, element, false);
    case Layout::vocab_rows: {
      std::vector<std::byte> padded(static_cast<std::size_t>(shape[0] * shape[1]) * element, std::byte{0});
      std::copy(data.begin(), data.end(), padded.begin());
      return padded;
    }
  }
  return {};
}

void require_empty_output(const fs::path& out) {
  std::error_code ec;
  MTNLG_CHECK(!fs::exists(out, ec) || (fs::is_directory(out, ec) && fs::is_empty(out, ec)),
              str(out.string(), " exists and is not an empty directory; choose a new output directory"));
}

// Moves a finished temporary directory into place (out is absent or an empty directory).
void commit_directory(const fs::path& tmp, const fs::path& out) {
  std::error_code ec;
  fs::remove(out, ec);  // an empty directory, or nothing
  fs::rename(tmp, out, ec);
  MTNLG_CHECK(!ec, str("cannot rename ", tmp.string(), " to ", out.string(), ": ", ec.message()));
}

// f32 ↔ f64 element by element (widening is exact; narrowing rounds to nearest), for a checkpoint stored in
// the other precision.
std::vector<std::byte> converted(std::span<const std::byte> data, DType from, DType to) {
  if (from == to) return {data.begin(), data.end()};
  const std::size_t n = data.size() / dtype_size(from);
  std::vector<std::byte> out(n * dtype_size(to));
  for (std::size_t i = 0; i < n; ++i) {
    if (from == DType::f32) {
      float f;
      std::memcpy(&f, &data[i * 4], 4);
      const double v = f;
      std::memcpy(&out[i * 8], &v, 8);
    } else {
      double v;
      std::memcpy(&v, &data[i * 8], 8);
      const float f = static_cast<float>(v);
      std::memcpy(&out[i * 4], &f, 4);
    }
  }
  return out;
}

nlohmann::ordered_json config_of(const ModelDims& d, std::int64_t ffn, DType dtype) {
  return {{"architectures", {"GPT2LMHeadModel"}},
          {"model_type", "gpt2"},
          {"vocab_size", d.vocab},
          {"n_positions", d.seq_len},
          {"n_ctx", d.seq_len},
          {"n_embd", d.hidden},
          {"n_layer", d.layers},
          {"n_head", d.heads},
          {"n_inner", ffn},
          {"activation_function", "gelu_new"},  // mtnlg's GeLU is the tanh approximation, GPT-2's gelu_new
          {"layer_norm_epsilon", d.eps},
          {"resid_pdrop", d.hidden_dropout},
          {"embd_pdrop", d.hidden_dropout},
          {"attn_pdrop", d.attention_dropout},
          {"initializer_range", d.init_std},
          {"bos_token_id", 50256},
          {"eos_token_id", 50256},
          {"tie_word_embeddings", true},
          {"torch_dtype", dtype == DType::f64 ? "float64" : "float32"}};
}

}  // namespace

void export_hf_gpt2(Registry& registry, const fs::path& checkpoint, const fs::path& out) {
  single_rank_recipe_of(registry, checkpoint);  // is it a checkpoint at all, before looking at OUT
  require_empty_output(out);
  const CheckpointModel model = load_checkpoint_model(registry, checkpoint);
  const ModelDims d = dims_of(model.recipe);
  Stage& stage = *model.stage;

  std::vector<std::vector<std::byte>> data;
  std::vector<safetensors::TensorToWrite> tensors;
  std::int64_t ffn = 4 * d.hidden;
  for (const StoredParam& p : stage.engine().params().params()) {
    const Placement place = placement_of(p.full_name(), d);
    const DType dtype = p.value.dtype();
    MTNLG_CHECK(
        dtype == DType::f32 || dtype == DType::f64,
        str("parameter '", p.full_name(), "' is ", dtype_name(dtype), "; export handles f32 and f64"));
    std::vector<std::byte> bytes(static_cast<std::size_t>(p.value.nbytes()));
    stage.backend().download(bytes.data(), p.value);
    stage.backend().synchronize();
    if (place.hf_name == "h.0.mlp.c_fc.bias") ffn = p.local_shape[0];
    data.push_back(to_gpt2(bytes, p.local_shape, place.layout, d, dtype_size(dtype)));
    tensors.push_back({place.hf_name, dtype, hf_shape(p.local_shape, place.layout, d), {}});
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) tensors[i].data = data[i];

  const fs::path tmp = out.string() + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  MTNLG_CHECK(!ec, str("cannot create ", tmp.string(), ": ", ec.message()));
  safetensors::write(tmp / kWeightsFile, tensors,
                     {{"format", "pt"}, {"producer", "mtnlg convert --to hf-gpt2"}});
  {
    std::ofstream config(tmp / kConfigFile);
    config << config_of(d, ffn, tensors.front().dtype).dump(2) << '\n';
    config.close();
    MTNLG_CHECK(!config.fail(), str("cannot write ", (tmp / kConfigFile).string()));
  }
  commit_directory(tmp, out);
}

void import_hf_gpt2(Registry& registry, const fs::path& hf_dir, const fs::path& recipe_file,
                    const std::vector<std::string>& overrides, const fs::path& out) {
  const fs::path config_file = hf_dir / kConfigFile;
  std::ifstream config_in(config_file);
  MTNLG_CHECK(config_in.good(), str("cannot read ", config_file.string(),
                                    ": a Hugging Face GPT-2 directory has "
                                    "config.json and model.safetensors"));
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(config_in);
  } catch (const std::exception& e) {
    fail(str(config_file.string(), ": not JSON: ", e.what()));
  }
  require_empty_output(out);
  const Table recipe = single_rank_recipe(registry, recipe_file, overrides);
  const ModelDims d = dims_of(recipe);
  if (config.contains("model_type"))
    MTNLG_CHECK(config["model_type"] == "gpt2",
                str(config_file.string(), ": model_type ", config["model_type"].dump(), ", not \"gpt2\""));
  const std::vector<std::pair<const char*, std::pair<const char*, std::int64_t>>> must_match{
      {"n_layer", {"model.layers", d.layers}},
      {"n_embd", {"model.hidden", d.hidden}},
      {"n_head", {"model.heads", d.heads}},
      {"n_positions", {"model.seq_len", d.seq_len}},
      {"vocab_size", {"model.vocab_size", d.vocab}}};
  for (const auto& [key, want] : must_match) {
    MTNLG_CHECK(config.contains(key) && config[key].is_number_integer(),
                str(config_file.string(), ": no integer \"", key, "\""));
    MTNLG_CHECK(config[key].get<std::int64_t>() == want.second,
                str(config_file.string(), ": ", key, " is ", config[key].get<std::int64_t>(),
                    ", the recipe's ", want.first, " is ", want.second, " (set it with --set ", want.first,
                    "=", config[key].get<std::int64_t>(), ")"));
  }
  const std::string activation = config.value("activation_function", std::string("gelu_new"));
  MTNLG_CHECK(activation == "gelu_new" || activation == "gelu_pytorch_tanh",
              str(config_file.string(), ": activation_function '", activation,
                  "'; mtnlg's gelu_mlp is the tanh approximation (gelu_new)"));

  const safetensors::Reader weights(hf_dir / kWeightsFile);
  Stage stage(recipe, registry, StageOptions{.inference = true});
  std::set<std::string> used;
  for (const StoredParam& p : stage.engine().params().params()) {
    const Placement place = placement_of(p.full_name(), d);
    const std::string name = weights.contains(place.hf_name)
                                 ? place.hf_name
                                 : "transformer." + place.hf_name;  // GPT2LMHeadModel's
    MTNLG_CHECK(weights.contains(name), str(weights.path().string(), ": no tensor '", place.hf_name,
                                            "' (for mtnlg's '", p.full_name(), "')"));
    const safetensors::TensorInfo& info = weights.tensor(name);
    const auto want = hf_shape(p.local_shape, place.layout, d);
    MTNLG_CHECK(info.shape == want,
                str(weights.path().string(), ": tensor '", name, "' has shape ", shape_text(info.shape),
                    ", mtnlg's '", p.full_name(), "' needs ", shape_text(want)));
    MTNLG_CHECK(info.dtype == DType::f32 || info.dtype == DType::f64,
                str(weights.path().string(), ": tensor '", name, "' is ",
                    safetensors::format_dtype_name(info.dtype), "; import reads F32 and F64"));
    const DType dtype = p.value.dtype();
    const auto bytes = from_gpt2(converted(weights.read(info), info.dtype, dtype), p.local_shape,
                                 place.layout, d, dtype_size(dtype));
    stage.backend().upload(p.value, bytes.data());
    used.insert(name);
  }
  stage.backend().synchronize();
  for (const safetensors::TensorInfo& t : weights.tensors()) {
    if (used.count(t.name)) continue;
    // The tied head and the attention-mask buffers some exports carry are not parameters.
    const bool not_a_parameter =
        t.name == "lm_head.weight" || t.name.ends_with(".attn.bias") || t.name.ends_with(".attn.masked_bias");
    MTNLG_CHECK(not_a_parameter,
                str(weights.path().string(), ": tensor '", t.name, "' has no place in mtnlg's GPT-2 model"));
  }
  const Table saved_recipe = resolve_recipe(recipe_file, overrides, registry);
  save_checkpoint(out, saved_recipe, stage.engine().params(), stage.backend(), CheckpointInfo{});
}

}  // namespace mtnlg::host
