#include "training/recipe_schema.hpp"

#include <map>
#include <span>

#include "mtnlg/str.hpp"
#include "recipe/load_recipe.hpp"
#include "recipe/override.hpp"
#include "recipe/recipe_error.hpp"
#include "recipe/validate.hpp"

namespace mtnlg::host {

namespace {

const mtnlg_key_spec kModelKeys[] = {
    {"layers", MTNLG_KEY_INT, nullptr, "number of transformer blocks", nullptr},
    {"hidden", MTNLG_KEY_INT, nullptr, "hidden size h", nullptr},
    {"heads", MTNLG_KEY_INT, nullptr, "attention heads (must divide hidden)", nullptr},
    {"seq_len", MTNLG_KEY_INT, nullptr, "sequence length s in tokens", nullptr},
    {"vocab_size", MTNLG_KEY_INT, nullptr, "tokenizer vocabulary size (50257 for GPT-2 BPE)", nullptr},
    {"padded_vocab", MTNLG_KEY_INT, "0",
     "embedding rows, the same in every layout (51200 for GPT-2); 0 = vocab_size", nullptr},
    {"init_std", MTNLG_KEY_FLOAT, "0.02", "standard deviation of the normal weight initialisation", nullptr},
    {"hidden_dropout", MTNLG_KEY_FLOAT, "0.1",
     "dropout on the embeddings and on each branch entering the residual", nullptr},
    {"attention_dropout", MTNLG_KEY_FLOAT, "0.1", "dropout on the attention probabilities", nullptr},
    {"stack", MTNLG_KEY_ARRAY, nullptr, "the layers, in order: [[model.stack]] tables with layer = \"name\"",
     nullptr},
};

const mtnlg_key_spec kTrainKeys[] = {
    {"steps", MTNLG_KEY_INT, nullptr, "optimizer steps to run", nullptr},
    {"seed", MTNLG_KEY_INT, "1234", "seed of initialisation, dropout and data order", nullptr},
    {"dtype", MTNLG_KEY_STRING, "\"f32\"",
     "parameter and activation precision; bf16 and fp16 keep fp32 master weights, fp32 main gradients and "
     "fp32 "
     "optimizer state (mixed precision)",
     "f32|f64|bf16|fp16"},
    {"loss_scale", MTNLG_KEY_FLOAT, "0.0",
     "fp16 only: a constant loss scale; 0 = dynamic loss scaling (the keys below)", nullptr},
    {"initial_loss_scale", MTNLG_KEY_FLOAT, "4294967296.0",
     "fp16 dynamic loss scaling: the first scale (2^32)", nullptr},
    {"min_loss_scale", MTNLG_KEY_FLOAT, "1.0",
     "fp16 dynamic loss scaling: the scale never backs off below this", nullptr},
    {"loss_scale_window", MTNLG_KEY_INT, "1000",
     "fp16 dynamic loss scaling: overflow-free steps in a row after which the scale doubles", nullptr},
    {"hysteresis", MTNLG_KEY_INT, "2",
     "fp16 dynamic loss scaling: overflows tolerated before the scale halves (reset when it grows)", nullptr},
    {"micro_batch", MTNLG_KEY_INT, "1", "samples per micro-batch", nullptr},
    {"global_batch", MTNLG_KEY_INT, "0",
     "samples per optimizer step over all data-parallel ranks; 0 = micro_batch", nullptr},
    {"eval_interval", MTNLG_KEY_INT, "0", "steps between validation-loss evaluations; 0 = never", nullptr},
    {"eval_iters", MTNLG_KEY_INT, "4", "micro-batches of the validation split per evaluation", nullptr},
    {"clip_grad", MTNLG_KEY_FLOAT, "1.0", "clip the global gradient norm to this; 0 = no clipping", nullptr},
    {"recompute", MTNLG_KEY_STRING, "\"none\"",
     "activation recomputation (Megatron's --recompute-granularity): full = a block's forward keeps only its "
     "input and runs again before its backward; selective = only the attention core's (T, T) activations "
     "are recomputed",
     "none|full|selective"},
    {"save_interval", MTNLG_KEY_INT, "0",
     "steps between sharded checkpoints in RUN_DIR/checkpoints (one is always saved at the end, and on "
     "SIGTERM or SIGUSR1); 0 = only those",
     nullptr},
    {"keep_checkpoints", MTNLG_KEY_INT, "0",
     "sharded checkpoints kept in RUN_DIR/checkpoints, newest first (older ones are deleted after a save); "
     "0 = all",
     nullptr},
    {"recompute_interval", MTNLG_KEY_INT, "1",
     "full recomputation: the blocks whose number (0-based among the blocks) is a multiple of this are "
     "recomputed; 1 = every block",
     nullptr},
};

const mtnlg_key_spec kParallelKeys[] = {
    {"tensor", MTNLG_KEY_INT, "1", "tensor-parallel size (Megatron tensor slicing)", nullptr},
    {"pipeline", MTNLG_KEY_INT, "1", "pipeline-parallel size (stages)", nullptr},
    {"data", MTNLG_KEY_INT, "0", "data-parallel size; 0 = world size / (tensor × pipeline)", nullptr},
    {"schedule", MTNLG_KEY_STRING, "\"1f1b\"", "pipeline schedule component", nullptr},
    {"virtual_stages", MTNLG_KEY_INT, "1",
     "model chunks per pipeline rank (the interleaved schedule's virtual stages)", nullptr},
    {"stage_layers", MTNLG_KEY_ARRAY, "[]",
     "layers (expanded [[model.stack]] entries) per virtual stage, in order, for an uneven split; [] = "
     "embedding and leading layers on the first stage, blocks split evenly, final layers on the last",
     nullptr},
    {"zero", MTNLG_KEY_INT, "0",
     "1 = ZeRO-1 / distributed optimizer: reduce-scatter gradients, each data-parallel rank updates its "
     "shard, all-gather parameters",
     "0|1"},
    {"bucket_mb", MTNLG_KEY_FLOAT, "16",
     "data-parallel gradient all-reduce bucket size in MiB (posted as the backward pass completes them)",
     nullptr},
    {"communicator", MTNLG_KEY_STRING, "\"mpi\"",
     "communicator component of a multi-rank run: \"mpi\" (host tensors, or device tensors staged through "
     "host memory) or \"nccl\" (CUDA device tensors, one GPU per rank)",
     nullptr},
    {"timeout", MTNLG_KEY_FLOAT, "300",
     "seconds a collective or point-to-point wait may take before the job stops with the stalled rank "
     "named; 0 = forever",
     nullptr},
};

const mtnlg_key_spec kPluginsKeys[] = {
    {"load", MTNLG_KEY_ARRAY, "[]", "plugin libraries (or directories) to load, relative to this recipe",
     nullptr},
};

const mtnlg_key_spec kNameKey = {"name", MTNLG_KEY_STRING, nullptr, "the component to use", nullptr};
const mtnlg_key_spec kStackKeys[] = {
    {"layer", MTNLG_KEY_STRING, nullptr, "the layer component", nullptr},
    {"repeat", MTNLG_KEY_INT, "1",
     "instances of this entry; the string \"model.layers\" repeats it that often", nullptr},
};

struct Slot {
  const char* section;
  const char* kind;
  const char* default_name;  // null: the section names its component explicitly
};
const Slot kSlots[] = {
    {"backend", "backend", "cpu"},
    {"optimizer", "optimizer", "sgd"},
    {"reader", "reader", nullptr},
    {"lr_schedule", "lr_schedule", nullptr},
    {"batch_schedule", "batch_schedule", nullptr},
};

const char* const kSections[] = {"model",     "train",  "parallel", "plugins",     "backend",
                                 "optimizer", "reader", "schedule", "lr_schedule", "batch_schedule"};

std::vector<mtnlg_key_spec> with_host_keys(std::span<const mtnlg_key_spec> host,
                                           const std::vector<mtnlg_key_spec>& own) {
  std::vector<mtnlg_key_spec> all(host.begin(), host.end());
  all.insert(all.end(), own.begin(), own.end());
  return all;
}

Table& section(Table& recipe, const char* name) {
  Value* v = recipe.find(name);
  if (v == nullptr) {
    Table t;
    t.pos = recipe.pos;
    v = &recipe.set(name, Value(std::move(t), recipe.pos));
  }
  if (!v->is_table()) throw recipe::RecipeError(v->pos, str("'", name, "' must be a table ([", name, "])"));
  return v->as_table();
}

[[noreturn]] void at(const Value& v, const std::string& message) {
  throw recipe::RecipeError(v.pos, message);
}

void require_positive(const Table& t, const char* section_name, const char* key) {
  const Value& v = *t.find(key);
  if (v.as_int() < 1) at(v, str(section_name, ".", key, " must be at least 1, got ", v.as_int()));
}

// What the layout needs of the model: every tensor-parallel slice whole (heads, vocabulary, MLP width).
void check_parallel(const Table& parallel, const Table& model) {
  for (const char* key : {"tensor", "pipeline", "virtual_stages"})
    require_positive(parallel, "parallel", key);
  const Value& data = *parallel.find("data");
  if (data.as_int() < 0)
    at(data, str("parallel.data must be >= 0 (0 = derived from the world size), got ", data.as_int()));
  const Value& zero = *parallel.find("zero");
  if (zero.as_int() != 0 && zero.as_int() != 1)
    at(zero, str("parallel.zero must be 0 or 1, got ", zero.as_int()));
  if (parallel.get_float("timeout") < 0.0)
    at(*parallel.find("timeout"), "parallel.timeout must be >= 0 seconds");
  if (parallel.get_float("bucket_mb") <= 0.0)
    at(*parallel.find("bucket_mb"), "parallel.bucket_mb must be > 0");
  const Value& tensor = *parallel.find("tensor");
  const std::int64_t tp = tensor.as_int();
  const auto divides = [&](const char* key, std::int64_t value, const char* why) {
    if (value % tp != 0)
      at(tensor, str("parallel.tensor = ", tp, " does not divide model.", key, " = ", value, " (", why,
                     "); choose a tensor-parallel size that divides it"));
  };
  divides("heads", model.get_int("heads"), "attention heads are split over tensor-parallel ranks");
  divides("padded_vocab", model.get_int("padded_vocab"),
          "the vocabulary is split over tensor-parallel ranks");
  divides("hidden", 4 * model.get_int("hidden"), "the MLP's 4·hidden columns are split");
  for (const Value& v : parallel.find("stage_layers")->as_array())
    if (!v.is_int() || v.as_int() < 1) at(v, "parallel.stage_layers entries must be integers >= 1");
}

void validate_stack(Table& recipe, Table& model, const Registry& registry) {
  Value& stack = *model.find("stack");
  if (!stack.is_array() || stack.as_array().empty())
    at(stack, "model.stack must be a non-empty array of tables: [[model.stack]] layer = \"...\"");
  const std::int64_t model_layers = model.get_int("layers");
  int n = 0;
  for (Value& entry : stack.as_array()) {
    ++n;
    if (!entry.is_table()) at(entry, str("model.stack entry ", n, " must be a table with a 'layer' key"));
    Table& t = entry.as_table();
    // "repeat = \"model.layers\"" is the one string repeat accepts: resolve it before type checking.
    if (Value* repeat = t.find("repeat"); repeat != nullptr && repeat->is_string()) {
      if (repeat->as_string() != "model.layers")
        at(*repeat, str("repeat must be an integer or \"model.layers\", got \"", repeat->as_string(), "\""));
      *repeat = Value(model_layers, repeat->pos);
    }
    const Value* layer = t.find("layer");
    if (layer == nullptr || !layer->is_string())
      throw recipe::RecipeError(layer ? layer->pos : t.pos,
                                str("model.stack entry ", n, " needs layer = \"<name>\""));
    const ComponentRecord& rec = registry.require("layer", layer->as_string(), layer->pos);
    recipe::validate_table(t, str("[[model.stack]] #", n, " (layer '", rec.name, "')"),
                           with_host_keys(kStackKeys, rec.keys));
    if (t.get_int("repeat") < 1) at(*t.find("repeat"), "repeat must be at least 1");
  }
  (void)recipe;
}

}  // namespace

void validate_recipe(Table& recipe, const Registry& registry) {
  for (const auto& [key, value] : recipe) {
    bool known = false;
    for (const char* s : kSections) known |= key == s;
    if (!known) {
      std::string list;
      for (const char* s : kSections) list += (list.empty() ? "" : ", ") + std::string(s);
      at(value, str("unknown section '", key, "'; a recipe has: ", list));
    }
  }
  // Every section the host owns exists before any reference into the recipe is taken: adding one later could
  // move the others.
  for (const char* name : {"plugins", "model", "train", "parallel", "schedule", "backend", "optimizer"})
    section(recipe, name);
  recipe::validate_table(section(recipe, "plugins"), "[plugins]", kPluginsKeys);

  Table& model = section(recipe, "model");
  recipe::validate_table(model, "[model]", kModelKeys);
  for (const char* key : {"layers", "hidden", "heads", "seq_len", "vocab_size"})
    require_positive(model, "model", key);
  if (model.get_int("hidden") % model.get_int("heads") != 0)
    at(*model.find("heads"), str("model.heads (", model.get_int("heads"), ") must divide model.hidden (",
                                 model.get_int("hidden"), ")"));
  for (const char* key : {"hidden_dropout", "attention_dropout"}) {
    const Value& p = *model.find(key);
    if (p.as_float() < 0.0 || p.as_float() >= 1.0)
      at(p, str("model.", key, " must be in [0, 1), got ", p.as_float()));
  }
  Value& padded = *model.find("padded_vocab");
  if (padded.as_int() == 0) padded = Value(model.get_int("vocab_size"), padded.pos);
  if (padded.as_int() < model.get_int("vocab_size"))
    at(padded, str("model.padded_vocab (", padded.as_int(), ") must be at least model.vocab_size (",
                   model.get_int("vocab_size"), ")"));

  Table& train = section(recipe, "train");
  recipe::validate_table(train, "[train]", kTrainKeys);
  require_positive(train, "train", "steps");
  require_positive(train, "train", "micro_batch");
  // The loss-scaling keys are ignored unless train.dtype = "fp16": a resolved recipe lists them all, and it
  // must stay valid when another run re-reads it.
  if (train.get_float("loss_scale") < 0.0) at(*train.find("loss_scale"), "train.loss_scale must be >= 0");
  for (const char* key : {"initial_loss_scale", "min_loss_scale"})
    if (train.get_float(key) <= 0.0) at(*train.find(key), str("train.", key, " must be > 0"));
  require_positive(train, "train", "loss_scale_window");
  require_positive(train, "train", "hysteresis");
  Value& global = *train.find("global_batch");
  if (global.as_int() == 0) global = Value(train.get_int("micro_batch"), global.pos);
  if (global.as_int() < 1 || global.as_int() % train.get_int("micro_batch") != 0)
    at(global,
       str("train.global_batch (", global.as_int(), ") must be a positive multiple of train.micro_batch (",
           train.get_int("micro_batch"), ")"));
  if (train.get_int("eval_interval") < 0)
    at(*train.find("eval_interval"), "train.eval_interval must be >= 0");
  require_positive(train, "train", "recompute_interval");
  for (const char* key : {"save_interval", "keep_checkpoints"})
    if (train.get_int(key) < 0) at(*train.find(key), str("train.", key, " must be >= 0"));
  // With "none" the interval is ignored, so that --set train.recompute=none turns recomputation off in any
  // recipe; with "selective" it would be a promise the setting does not keep (every block's core is redone).
  const Value& interval = *train.find("recompute_interval");
  if (train.get_string("recompute") == "selective" && interval.as_int() != 1)
    at(interval, str("train.recompute_interval = ", interval.as_int(),
                     " applies only to train.recompute = \"full\"; selective recomputation redoes every "
                     "block's attention core: remove the interval or use \"full\""));

  Table& parallel = section(recipe, "parallel");
  recipe::validate_table(parallel, "[parallel]", kParallelKeys);
  check_parallel(parallel, model);
  const Value& communicator = *parallel.find("communicator");
  registry.require("communicator", communicator.as_string(), communicator.pos);
  const Value& schedule_name = *parallel.find("schedule");
  const ComponentRecord& schedule =
      registry.require("schedule", schedule_name.as_string(), schedule_name.pos);
  recipe::validate_table(section(recipe, "schedule"), str("[schedule] (", schedule.name, ")"), schedule.keys);

  for (const Slot& slot : kSlots) {
    if (slot.default_name == nullptr && !recipe.contains(slot.section)) continue;
    Table& t = section(recipe, slot.section);
    if (!t.contains("name") && slot.default_name != nullptr) t.set("name", Value(slot.default_name));
    const Value* name = t.find("name");
    if (name == nullptr || !name->is_string())
      throw recipe::RecipeError(name ? name->pos : t.pos,
                                str("[", slot.section, "] needs name = \"<", slot.kind, ">\""));
    const ComponentRecord& rec = registry.require(slot.kind, name->as_string(), name->pos);
    mtnlg_key_spec name_key = kNameKey;
    recipe::validate_table(t, str("[", slot.section, "] (", rec.name, ")"),
                           with_host_keys({&name_key, 1}, rec.keys));
  }

  validate_stack(recipe, model, registry);
}

Table resolve_recipe(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                     Registry& registry) {
  Table recipe = recipe::load_recipe(file);
  for (const std::string& o : overrides) recipe::apply_override(recipe, o);
  if (const Value* plugins = recipe.find_path("plugins.load")) {
    if (!plugins->is_array()) at(*plugins, "plugins.load must be an array of paths");
    for (const Value& p : plugins->as_array()) {
      if (!p.is_string()) at(p, "plugins.load entries must be strings (paths)");
      std::filesystem::path path = p.as_string();
      if (path.is_relative() && !p.pos.file.empty())
        path = std::filesystem::path(p.pos.file).parent_path() / path;
      registry.load_required(path, p.pos.str());
    }
  }
  validate_recipe(recipe, registry);
  return recipe;
}

std::vector<StackEntry> expand_stack(const Table& recipe) {
  std::vector<StackEntry> out;
  int index = 0, n = 0;
  for (const Value& entry : recipe.find_path("model.stack")->as_array()) {
    const Table& t = entry.as_table();
    for (std::int64_t r = 0; r < t.get_int("repeat"); ++r)
      out.push_back({index++, t.get_string("layer"), &t, n});
    ++n;
  }
  return out;
}

int blocks_entry(const std::vector<StackEntry>& layers) {
  std::map<int, int> per_entry;
  for (const StackEntry& e : layers) ++per_entry[e.entry];
  int entry = 0, most = 0;
  for (const auto& [e, n] : per_entry)
    if (n > most) entry = e, most = n;
  return entry;
}

DType train_dtype(const Table& recipe) {
  const std::string& name = recipe.get_table("train").get_string("dtype");
  if (name == "fp16") return DType::f16;
  const auto dtype = dtype_from_name(name);
  MTNLG_CHECK(dtype.has_value(), str("train.dtype \"", name, "\" is not a dtype"));
  return *dtype;
}

}  // namespace mtnlg::host
