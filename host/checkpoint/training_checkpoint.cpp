#include "checkpoint/training_checkpoint.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <vector>

#include "checkpoint/checkpoint_reader.hpp"
#include "checkpoint/durable_file.hpp"
#include "checkpoint/shard_writer.hpp"
#include "engine/scalar_all_reduce.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"
#include "recipe/load_recipe.hpp"
#include "recipe/print_recipe.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

namespace {

std::string step_dir_name(std::int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%07lld", static_cast<long long>(step));
  return name;
}

std::string shard_name(int rank) {
  char name[32];
  std::snprintf(name, sizeof name, "rank-%05d", rank);
  return name;
}

// A tied copy is saved and restored under the parameter it copies.
std::string canonical_name(const StoredParam& p) {
  return str(p.init_layer_index, ".", p.init_name);
}

// Whether this rank saves parameter p: each element once over the whole job.
bool saves(const StoredParam& p, const Topology& t) {
  return !p.stage_copy && (p.spec.tp_dim >= 0 || t.tp_rank() == 0);
}

SliceRequest request_for(const StoredParam& p, const Topology& t, DType dtype, std::int64_t begin,
                         std::int64_t end) {
  const bool split = p.spec.tp_dim >= 0;
  return {dtype, p.spec.shape, p.spec.tp_dim, split ? t.tp_rank() : 0, split ? t.tensor : 1, begin, end};
}

ShardEntry entry_for(const StoredParam& p, const Topology& t, const std::string& kind, DType dtype,
                     std::int64_t begin, std::int64_t end) {
  const SliceRequest r = request_for(p, t, dtype, begin, end);
  ShardEntry e;
  e.name = canonical_name(p);
  e.kind = kind;
  e.dtype = dtype;
  e.shape = r.shape;
  e.tp_dim = r.tp_dim;
  e.tp_part = r.tp_part;
  e.tp_parts = r.tp_parts;
  e.begin = begin;
  e.end = end;
  return e;
}

std::vector<char> download(Backend& backend, const Tensor& t) {
  std::vector<char> bytes(t.nbytes());
  if (!bytes.empty()) backend.download(bytes.data(), t);
  backend.synchronize();
  return bytes;
}

// How many ranks report a failure; also a barrier. One rank: 0 or 1.
int failures_over_world(ProcessGroup* world, Backend& backend, bool failed) {
  return static_cast<int>(all_reduce_scalar(world, backend, failed ? 1.0 : 0.0, ReduceOp::sum));
}

// The lowest world rank that reports a failure (collective; call it only when some rank failed), so that
// every rank's message names it: the one whose log has the reason.
int first_failed_rank(ProcessGroup* world, Backend& backend, const Topology& t, bool failed) {
  const double from_top = failed ? static_cast<double>(t.world - t.rank) : 0.0;
  return t.world - static_cast<int>(all_reduce_scalar(world, backend, from_top, ReduceOp::max));
}

// MTNLG_PLANT_BUG=fail-shard-write:RANK:STEP (a test hook): world rank RANK fails to write its shard of the
// checkpoint of step STEP, as a full disk or a lost mount on one node would make it, so a test can show the
// save fails on every rank and leaves the previous checkpoint in place.
bool planted_shard_write_failure(int rank, std::int64_t step) {
  const char* bug = std::getenv("MTNLG_PLANT_BUG");
  long long bug_rank = -1, bug_step = -1;
  return bug != nullptr && std::sscanf(bug, "fail-shard-write:%lld:%lld", &bug_rank, &bug_step) == 2 &&
         bug_rank == rank && bug_step == step;
}

Table training_manifest(const Table& recipe, const Topology& t, const TrainingPosition& position) {
  const Table& train = recipe.get_table("train");
  Table m;
  m.set("format", Value(kShardedCheckpointFormat));
  m.set("step", Value(position.step));
  m.set("consumed_samples", Value(position.consumed_samples));
  m.set("consumed_tokens", Value(position.consumed_tokens));
  m.set("optimizer_updates", Value(position.optimizer_updates));
  m.set("dtype", Value(train.get_string("dtype")));
  m.set("seed", Value(train.get_int("seed")));
  Table layout;
  layout.set("world", Value(t.world));
  layout.set("tensor", Value(t.tensor));
  layout.set("pipeline", Value(t.pipeline));
  layout.set("data", Value(t.data));
  layout.set("virtual_stages", Value(t.chunks));
  layout.set("zero", Value(recipe.get_table("parallel").get_int("zero")));
  m.set("layout", Value(std::move(layout)));
  if (position.loss_scaler) {
    Table scaler;
    scaler.set("scale", Value(position.loss_scaler->scale));
    scaler.set("growth_tracker", Value(position.loss_scaler->growth_tracker));
    scaler.set("hysteresis_tracker", Value(position.loss_scaler->hysteresis_tracker));
    m.set("loss_scaler", Value(std::move(scaler)));
  }
  Array shards;
  for (int r = 0; r < t.world; ++r) shards.emplace_back(shard_name(r));
  m.set("shards", Value(std::move(shards)));
  return m;
}

}  // namespace

void write_rank_shard(const fs::path& dir, Stage& stage, const PieceSource& source) {
  const Topology& t = stage.topology();
  Engine& engine = stage.engine();
  const auto& params = engine.params().params();
  ShardWriter writer(dir, shard_name(t.rank));
  // Without ZeRO-1 every data-parallel rank holds the same parameters and optimizer state: rank 0 saves them.
  // With it, parameters are still replicated but each rank holds the optimizer state of its shard only.
  if (t.dp_rank() == 0)
    for (const StoredParam& p : params)
      if (saves(p, t)) {
        const Tensor& value = p.update_value();  // in mixed precision the fp32 master weight
        const ShardEntry e = entry_for(p, t, kParameterKind, value.dtype(), 0, shape_numel(p.local_shape));
        writer.add(e, source(e.name, e.kind, request_for(p, t, e.dtype, e.begin, e.end), value).data());
      }
  Optimizer* optimizer = engine.optimizer();
  if (optimizer != nullptr && (t.dp_rank() == 0 || engine.optimizer_state_sharded())) {
    for (const OptimizerState& s : optimizer->state()) {
      const OptimizerSlice& slice = engine.optimizer_slices().at(s.param);
      const StoredParam& p = params[slice.param];
      if (!saves(p, t)) continue;
      MTNLG_CHECK(s.tensor.numel() == slice.end - slice.begin,
                  str(optimizer->component_label(), ": state ", s.kind, " of ", p.full_name(), " has ",
                      s.tensor.numel(), " elements, its parameter ", slice.end - slice.begin));
      const ShardEntry e = entry_for(p, t, s.kind, s.tensor.dtype(), slice.begin, slice.end);
      writer.add(e, source(e.name, e.kind, request_for(p, t, e.dtype, e.begin, e.end), s.tensor).data());
    }
  }
  writer.finish();
}

void write_checkpoint_metadata(const fs::path& dir, const Table& recipe, const Topology& t,
                               const TrainingPosition& position) {
  write_durably(dir / "recipe.toml", recipe::print_recipe(recipe));
  write_durably(dir / "manifest.toml", recipe::print_recipe(training_manifest(recipe, t, position)));
  sync_directory(dir);
}

TrainingPosition position_of(const CheckpointReader& reader) {
  const Table& m = reader.manifest();
  TrainingPosition p{m.get_int("step"), m.get_int("consumed_samples"), m.get_int("consumed_tokens"),
                     m.get_int("optimizer_updates"), std::nullopt};
  if (const Value* v = m.find("loss_scaler")) {
    const Table& t = v->as_table();
    p.loss_scaler =
        LossScalerState{t.get_float("scale"), t.get_int("growth_tracker"), t.get_int("hysteresis_tracker")};
  }
  return p;
}

fs::path resolve_training_checkpoint(const fs::path& path) {
  MTNLG_CHECK(fs::exists(path), str(path.string(), ": no such run or checkpoint directory"));
  MTNLG_CHECK(!fs::exists(path / "parameters.bin"),
              str(path.string(),
                  " is a consolidated model checkpoint (RUN_DIR/checkpoint), which holds no "
                  "optimizer state; give the run directory or one of RUN_DIR/checkpoints/step-N"));
  if (fs::exists(path / "manifest.toml")) return path;
  if (fs::is_directory(path / "checkpoints")) return latest_checkpoint(path / "checkpoints");
  if (fs::exists(path / "latest")) return latest_checkpoint(path);
  fail(str(
      path.string(),
      " is neither a run directory (with checkpoints/latest) nor a sharded checkpoint (with manifest.toml)"));
}

namespace {

// Step directories under root, oldest first.
std::vector<std::pair<std::int64_t, fs::path>> step_directories(const fs::path& root) {
  static const std::regex pattern(R"(step-(\d+))");
  std::vector<std::pair<std::int64_t, fs::path>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, m, pattern))
      out.emplace_back(std::stoll(m[1]), entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Rank 0's part of a save, once every shard is on disk: manifest, rename, `latest`, clean-up.
void publish(const fs::path& root, const fs::path& tmp, const fs::path& final_dir, const Table& recipe,
             const Topology& t, const TrainingPosition& position, int keep) {
  write_checkpoint_metadata(tmp, recipe, t, position);
  // A checkpoint of this step may exist from a run that crashed after renaming it but before updating
  // `latest` (then resumed from an earlier one): the new one replaces it.
  const fs::path old = final_dir.string() + ".old";
  std::error_code ec;
  fs::remove_all(old, ec);
  if (fs::exists(final_dir)) fs::rename(final_dir, old);
  fs::rename(tmp, final_dir);
  sync_directory(root);
  replace_file_atomically(root / "latest", final_dir.filename().string() + "\n");
  fs::remove_all(old, ec);
  // Temporaries of saves that never finished, and checkpoints beyond `keep`.
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory() && entry.path().extension() == ".tmp") fs::remove_all(entry.path(), ec);
  if (keep > 0) {
    const auto dirs = step_directories(root);
    for (std::size_t i = 0; i + keep < dirs.size(); ++i)
      if (dirs[i].second != final_dir) fs::remove_all(dirs[i].second, ec);
  }
}

// The checkpoint must come from the model this recipe builds: every [model] key, the dtype and the seed.
void check_same_model(const fs::path& checkpoint, const Table& recipe) {
  const fs::path file = checkpoint / "recipe.toml";
  MTNLG_CHECK(fs::exists(file),
              str(checkpoint.string(), " has no recipe.toml; the checkpoint is incomplete"));
  const Table saved = recipe::load_recipe(file);
  const auto differs = [&](const std::string& key) {
    const Value* a = saved.find_path(key);
    const Value* b = recipe.find_path(key);
    if (a == nullptr && b == nullptr) return;
    const std::string theirs = a ? a->to_toml() : "(absent)", ours = b ? b->to_toml() : "(absent)";
    MTNLG_CHECK(theirs == ours, str("checkpoint ", checkpoint.string(), " was saved from a different model: ",
                                    key, " is ", theirs, " there and ", ours, " in this recipe",
                                    b && !b->pos.str().empty() ? str(" (", b->pos.str(), ")") : std::string(),
                                    "; resume with the recipe of the run (", file.string(), ")"));
  };
  std::set<std::string> keys;
  for (const auto& [k, v] : saved.get_table("model")) keys.insert(k);
  for (const auto& [k, v] : recipe.get_table("model")) keys.insert(k);
  for (const std::string& k : keys) differs("model." + k);
  differs("train.dtype");
  differs("train.seed");
}

}  // namespace

void save_training_checkpoint(const fs::path& root, const Table& recipe, Stage& stage, ProcessGroup* world,
                              TrainingPosition position, const SaveOptions& options) {
  const Topology& t = stage.topology();
  // Every rank holds the same counts and loss scale: overflow is decided on the world-summed gradient norm.
  position.optimizer_updates = stage.engine().optimizer_updates();
  if (const LossScaler* scaler = stage.engine().loss_scaler()) position.loss_scaler = scaler->state();
  Backend& backend = stage.backend();
  const fs::path final_dir = root / step_dir_name(position.step);
  const fs::path tmp = final_dir.string() + ".tmp";
  const std::string previous = "; the previous checkpoint (RUN_DIR/checkpoints/latest) is unchanged";

  std::string error;
  if (t.rank == 0) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) error = str("cannot create ", tmp.string(), ": ", ec.message());
  }
  if (failures_over_world(world, backend, !error.empty()) > 0)
    fail(str("saving the checkpoint of step ", position.step,
             " failed: ", error.empty() ? "rank 0 could not create its directory" : error, previous));

  try {
    if (planted_shard_write_failure(t.rank, position.step))
      fail(str("writing ", (tmp / (shard_name(t.rank) + ".bin")).string(),
               " failed: planted by MTNLG_PLANT_BUG=", std::getenv("MTNLG_PLANT_BUG")));
    write_rank_shard(tmp, stage,
                     [&](const std::string&, const std::string&, const SliceRequest&, const Tensor& held) {
                       return download(backend, held);
                     });
  } catch (const std::exception& e) {
    error = e.what();
  }
  const int failed = failures_over_world(world, backend, !error.empty());
  if (failed > 0) {
    const int first = first_failed_rank(world, backend, t, !error.empty());
    if (t.rank == 0) {
      std::error_code ec;
      fs::remove_all(tmp, ec);
    }
    // Every rank waits for the clean-up: the first to report the error may end the whole job.
    failures_over_world(world, backend, false);
    fail(str("saving the checkpoint of step ", position.step, " failed on ", failed, " rank(s), rank ",
             error.empty() ? first : t.rank, ": ", error.empty() ? "see its log for the reason" : error,
             previous));
  }

  if (t.rank == 0 && options.kill_at_step == position.step) std::raise(SIGKILL);
  if (t.rank == 0) {
    try {
      publish(root, tmp, final_dir, recipe, t, position, options.keep);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (failures_over_world(world, backend, !error.empty()) > 0)
    fail(str("saving the checkpoint of step ", position.step,
             " failed: ", error.empty() ? "rank 0 could not publish it" : error, previous));
  log_info("checkpoint of step ", position.step, " saved in ", final_dir.string());
}

fs::path latest_checkpoint(const fs::path& root) {
  const fs::path pointer = root / "latest";
  if (!fs::exists(pointer)) {
    const auto dirs = step_directories(root);
    fail(str("no checkpoint to resume from: ", pointer.string(), " does not exist",
             dirs.empty() ? str(" and ", root.string(),
                                " holds no step-N directory (the run saved none: set "
                                "train.save_interval, or let it reach its end)")
                          : str("; complete checkpoints there: ", dirs.back().second.filename().string(),
                                " (give it with --resume RUN_DIR after restoring `latest`)")));
  }
  std::ifstream in(pointer);
  std::string name;
  in >> name;
  MTNLG_CHECK(!name.empty() && name.find('/') == std::string::npos,
              str(pointer.string(), ": expected a checkpoint directory name such as step-0000010"));
  return root / name;
}

TrainingPosition load_training_checkpoint(const fs::path& checkpoint, const Table& recipe, Stage& stage) {
  const CheckpointReader reader(checkpoint);
  check_same_model(checkpoint, recipe);
  const Topology& t = stage.topology();
  Backend& backend = stage.backend();
  Engine& engine = stage.engine();
  const auto& params = engine.params().params();
  std::vector<char> bytes;
  for (const StoredParam& p : params) {
    const Tensor& value = p.update_value();
    bytes.resize(value.nbytes());
    reader.read(canonical_name(p), kParameterKind,
                request_for(p, t, value.dtype(), 0, shape_numel(p.local_shape)), bytes.data());
    if (!bytes.empty()) backend.upload(value, bytes.data());
  }
  engine.params().publish_master(0, engine.params().local_numel());
  if (Optimizer* optimizer = engine.optimizer(); optimizer != nullptr) {
    for (const OptimizerState& s : optimizer->state()) {
      const OptimizerSlice& slice = engine.optimizer_slices().at(s.param);
      const StoredParam& p = params[slice.param];
      bytes.resize(s.tensor.nbytes());
      reader.read(canonical_name(p), s.kind, request_for(p, t, s.tensor.dtype(), slice.begin, slice.end),
                  bytes.data());
      if (!bytes.empty()) backend.upload(s.tensor, bytes.data());
    }
  }
  backend.synchronize();
  const TrainingPosition position = position_of(reader);
  engine.set_optimizer_updates(position.optimizer_updates);
  if (LossScaler* scaler = engine.loss_scaler()) {
    // A checkpoint made from a model checkpoint (no update made yet) starts the scaler afresh.
    MTNLG_CHECK(position.loss_scaler.has_value() || position.optimizer_updates == 0,
                str(checkpoint.string(), "/manifest.toml has no [loss_scaler]: the checkpoint is damaged"));
    if (position.loss_scaler) scaler->restore(*position.loss_scaler);
  }
  return position;
}

}  // namespace mtnlg::host
