#pragma once
// The sharded training checkpoint: everything a run needs to continue exactly where it stopped, on the same
// layout or another one.
//
//   RUN_DIR/checkpoints/step-0000012/manifest.toml   format, step, consumed samples/tokens, dtype, seed,
//   layout
//                                    recipe.toml     the resolved recipe the run trained with
//                                    rank-00003.bin  rank 3's tensor pieces; rank-00003.json indexes them
//   RUN_DIR/checkpoints/latest                       "step-0000012": the newest complete checkpoint
//
// Each parameter is saved once (data-parallel rank 0, tensor rank 0 for replicated parameters, never a tied
// copy; in mixed precision its fp32 master weight, from which the 16-bit value is rounded), each optimizer
// state piece by the rank that updates it (with ZeRO-1, every data-parallel rank its shard). Dropout masks
// are keyed by (seed, layer, sample, element) and the data order by the sample index, so the seed and the
// consumed-sample count are all the random state there is.
//
// Saving is collective and atomic: every rank writes and fsyncs its shard into step-N.tmp/, all ranks agree
// that every shard is on disk, then rank 0 writes the manifest, renames the directory to step-N and only then
// points `latest` at it. A process killed at any moment leaves `latest` naming a complete checkpoint.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_reader.hpp"
#include "engine/loss_scaler.hpp"

#include "mtnlg/communicator.hpp"
#include "mtnlg/config.hpp"
#include "training/stage.hpp"

namespace mtnlg::host {

struct TrainingPosition {
  std::int64_t step = 0;  // optimizer steps done
  std::int64_t consumed_samples = 0;
  std::int64_t consumed_tokens = 0;
  // Filled in by the save from the engine: updates made (steps minus those skipped on overflow) and the fp16
  // loss scaler's state.
  std::int64_t optimizer_updates = 0;
  std::optional<LossScalerState> loss_scaler;
};

struct SaveOptions {
  int keep = 0;  // checkpoints kept, newest first; 0 = all
  // A test hook: world rank 0 kills itself (SIGKILL) with every shard of step `kill_at_step` on disk but the
  // manifest not yet written, the worst moment for a crash. 0: never.
  std::int64_t kill_at_step = 0;
};

// Collective: every rank of `world` (null for one rank) calls it with the same arguments. Throws on every
// rank if any rank failed to write its shard, naming the first failing rank; the previous checkpoint is then
// untouched and the half-written step-N.tmp removed. (Test hook: MTNLG_PLANT_BUG=fail-shard-write:RANK:STEP
// makes world rank RANK fail to write its shard of step STEP.)
void save_training_checkpoint(const std::filesystem::path& root, const Table& recipe, Stage& stage,
                              ProcessGroup* world, TrainingPosition position, const SaveOptions& options);

// The checkpoint `latest` names under `root` (RUN_DIR/checkpoints); errors say what is there instead.
std::filesystem::path latest_checkpoint(const std::filesystem::path& root);
// A sharded checkpoint directory as given, or the latest one of a run directory.
std::filesystem::path resolve_training_checkpoint(const std::filesystem::path& path);

// Restores this rank's parameters and optimizer state from `checkpoint` (any layout it was saved with),
// after checking it was saved from the same model: the recipe's [model] and train.dtype and train.seed.
TrainingPosition load_training_checkpoint(const std::filesystem::path& checkpoint, const Table& recipe,
                                          Stage& stage);

// The parts of a save, for resharding (convert/reshard_checkpoint.hpp). What a rank saves comes from its
// backend when training, and from another checkpoint when resharding: `source` returns the bytes of one
// piece, given its canonical name, kind, slice, and the tensor the stage holds it in (on the meta backend: no
// data).
using PieceSource = std::function<std::vector<char>(const std::string& name, const std::string& kind,
                                                    const SliceRequest& slice, const Tensor& held)>;
void write_rank_shard(const std::filesystem::path& dir, Stage& stage, const PieceSource& source);
// manifest.toml and recipe.toml, fsync'ed.
void write_checkpoint_metadata(const std::filesystem::path& dir, const Table& recipe, const Topology& t,
                               const TrainingPosition& position);
TrainingPosition position_of(const CheckpointReader& reader);

}  // namespace mtnlg::host
