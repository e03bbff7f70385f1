#include "convert/reshard_checkpoint.hpp"

#include "checkpoint/checkpoint_reader.hpp"
#include "checkpoint/durable_file.hpp"
#include "checkpoint/training_checkpoint.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"
#include "training/checkpoint_model.hpp"
#include "training/recipe_schema.hpp"
#include "training/stage.hpp"
#include "training/topology.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

namespace {

// A consolidated model checkpoint (RUN_DIR/checkpoint, or an `mtnlg convert --from hf-gpt2` import) as a
// one-shard training checkpoint holding parameters only, in `dir`: what the resharding below reads.
TrainingPosition write_model_as_shard(Registry& registry, const fs::path& model_checkpoint,
                                      const fs::path& dir) {
  CheckpointModel model = load_checkpoint_model(registry, model_checkpoint);
  Backend& backend = model.stage->backend();
  write_rank_shard(dir, *model.stage,
                   [&](const std::string&, const std::string&, const SliceRequest&, const Tensor& held) {
                     std::vector<char> bytes(held.nbytes());
                     if (!bytes.empty()) backend.download(bytes.data(), held);
                     backend.synchronize();
                     return bytes;
                   });
  const std::int64_t seq = model.recipe.get_table("model").get_int("seq_len");
  const TrainingPosition position{model.info.step, model.info.consumed_samples,
                                  model.info.consumed_samples * seq};
  write_checkpoint_metadata(dir, model.recipe, model.stage->topology(), position);
  return position;
}

}  // namespace

void reshard_checkpoint(Registry& registry, const fs::path& input, const ReshardOptions& options,
                        const fs::path& out) {
  MTNLG_CHECK(options.tensor >= 1 && options.pipeline >= 1 && options.virtual_stages >= 1,
              str("convert: --tensor, --pipeline and --virtual-stages must be at least 1"));
  MTNLG_CHECK(!fs::exists(out) || (fs::is_directory(out) && fs::is_empty(out)),
              str("convert: ", out.string(), " exists and is not an empty directory; give a new one"));
  const fs::path tmp = out.string() + ".tmp", model_shard = out.string() + ".model.tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::remove_all(model_shard, ec);
  try {
    // A model checkpoint has no optimizer state: the training checkpoint gets a fresh one (zeros, as a new
    // optimizer starts), so training from imported weights starts on any layout with --resume.
    const bool from_model = fs::exists(input / "parameters.bin");
    fs::path checkpoint = input;
    if (from_model) {
      fs::create_directories(model_shard);
      write_model_as_shard(registry, input, model_shard);
      checkpoint = model_shard;
    } else {
      checkpoint = resolve_training_checkpoint(input);
    }
    const CheckpointReader reader(checkpoint);
    // The checkpoint's own recipe with the new layout (and the user's --set, say a train.dtype for the run
    // to come): the schema checks the layout fits the model (heads and vocabulary divide by T, blocks among
    // P·V virtual stages) before anything is written.
    std::vector<std::string> overrides = {str("parallel.tensor=", options.tensor),
                                          str("parallel.pipeline=", options.pipeline), "parallel.data=0",
                                          str("parallel.virtual_stages=", options.virtual_stages),
                                          "parallel.stage_layers=[]"};
    overrides.insert(overrides.end(), options.overrides.begin(), options.overrides.end());
    const Table recipe = resolve_recipe(checkpoint / "recipe.toml", overrides, registry);
    const int world = options.tensor * options.pipeline;
    const TrainingPosition position = position_of(reader);

    fs::create_directories(tmp, ec);
    MTNLG_CHECK(!ec, str("convert: cannot create ", tmp.string(), ": ", ec.message()));
    for (int rank = 0; rank < world; ++rank) {
      // The rank's stage on the meta backend: its parameters' names, shapes and slices, and the optimizer's
      // state tensors, without memory.
      Stage stage(recipe, registry,
                  StageOptions{.backend_override = "meta", .topology = make_topology(recipe, world, rank)});
      write_rank_shard(
          tmp, stage,
          [&](const std::string& name, const std::string& kind, const SliceRequest& slice, const Tensor&) {
            std::vector<char> bytes(static_cast<std::size_t>(slice.end - slice.begin) *
                                    dtype_size(slice.dtype));
            if (from_model && kind != kParameterKind) return bytes;  // fresh optimizer state: zeros
            reader.read(name, kind, slice, bytes.data());
            return bytes;
          });
    }
    write_checkpoint_metadata(tmp, recipe, make_topology(recipe, world, 0), position);
    if (fs::exists(out)) fs::remove(out);
    fs::rename(tmp, out);
    sync_directory(out.has_parent_path() ? out.parent_path() : fs::path("."));
    fs::remove_all(model_shard, ec);
    log_info("convert: step ", position.step, " of ", input.string(), " resharded for TP ", options.tensor,
             " x PP ", options.pipeline, " (", world, " shards", from_model ? ", fresh optimizer state" : "",
             ")");
  } catch (const Error& e) {
    fs::remove_all(tmp, ec);
    fs::remove_all(model_shard, ec);
    // Errors about the model checkpoint's temporary shard are about the model checkpoint: say so.
    std::string message = e.what();
    for (std::size_t at; (at = message.find(model_shard.string())) != std::string::npos;)
      message.replace(at, model_shard.string().size(), input.string());
    fail(message);
  } catch (...) {
    fs::remove_all(tmp, ec);
    fs::remove_all(model_shard, ec);
    throw;
  }
}

}  // namespace mtnlg::host
