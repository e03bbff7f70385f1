#include "convert/reshard_checkpoint.hpp"

#include "checkpoint/checkpoint_reader.hpp"
#include "checkpoint/durable_file.hpp"
#include "checkpoint/training_checkpoint.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"
#include "training/recipe_schema.hpp"
#include "training/stage.hpp"
#include "training/topology.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

void reshard_checkpoint(Registry& registry, const fs::path& input, const ReshardOptions& options,
                        const fs::path& out) {
  MTNLG_CHECK(options.tensor >= 1 && options.pipeline >= 1 && options.virtual_stages >= 1,
              str("convert: --tensor, --pipeline and --virtual-stages must be at least 1"));
  MTNLG_CHECK(!fs::exists(out) || (fs::is_directory(out) && fs::is_empty(out)),
              str("convert: ", out.string(), " exists and is not an empty directory; give a new one"));
  const fs::path checkpoint = resolve_training_checkpoint(input);
  const CheckpointReader reader(checkpoint);
  // The checkpoint's own recipe with the new layout: the schema checks the layout fits the model (heads and
  // vocabulary divide by T, blocks among P·V virtual stages) before anything is written.
  const Table recipe =
      resolve_recipe(checkpoint / "recipe.toml",
                     {str("parallel.tensor=", options.tensor), str("parallel.pipeline=", options.pipeline),
                      "parallel.data=0", str("parallel.virtual_stages=", options.virtual_stages),
                      "parallel.stage_layers=[]"},
                     registry);
  const int world = options.tensor * options.pipeline;
  const TrainingPosition position = position_of(reader);

  const fs::path tmp = out.string() + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  MTNLG_CHECK(!ec, str("convert: cannot create ", tmp.string(), ": ", ec.message()));
  try {
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
            reader.read(name, kind, slice, bytes.data());
            return bytes;
          });
    }
    write_checkpoint_metadata(tmp, recipe, make_topology(recipe, world, 0), position);
    if (fs::exists(out)) fs::remove(out);
    fs::rename(tmp, out);
    sync_directory(out.has_parent_path() ? out.parent_path() : fs::path("."));
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  log_info("convert: step ", position.step, " of ", checkpoint.string(), " resharded for TP ", options.tensor,
           " x PP ", options.pipeline, " (", world, " shards)");
}

}  // namespace mtnlg::host
