#pragma once
// A checkpoint's model (RUN_DIR/checkpoint, saved in the single-rank layout) on this rank's part of an
// inference layout chosen when it is loaded: `tensor` × `pipeline` ranks run one replica of the model and
// the rest of the world mpirun launched is data-parallel replicas, each taking its share of the work. A rank
// loads only its slices (its pipeline stage's layers, its tensor-parallel part of each parameter); the
// forward pass crosses stages through the engine's point-to-point (Engine::forward_only), and the last
// stage gathers the vocabulary-parallel logits over its tensor-parallel ranks. Without mpirun it is the
// whole model on one process.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "mtnlg/communicator.hpp"
#include "mtnlg/config.hpp"
#include "plugin_host/registry.hpp"
#include "training/process_groups.hpp"
#include "training/stage.hpp"

namespace mtnlg::host::eval {

struct InferenceLayout {
  int tensor = 1;    // tensor-parallel ranks per replica (divides model.heads and model.padded_vocab)
  int pipeline = 1;  // pipeline stages per replica (at most one per transformer block)
};

class InferenceModel {
 public:
  // Collective over the world. A layout that does not fit the model or the world fails alike on every rank
  // before any rank waits for another; a failure after that ends the whole job (abort_job).
  InferenceModel(Registry& registry, const std::filesystem::path& checkpoint, const InferenceLayout& layout);
  ~InferenceModel();
  InferenceModel(const InferenceModel&) = delete;
  InferenceModel& operator=(const InferenceModel&) = delete;

  // The checkpoint's recipe with the layout (parallel.*) of this run.
  const Table& recipe() const { return recipe_; }
  const Topology& topology() const { return stage_->topology(); }
  Backend& backend() { return stage_->backend(); }
  int replicas() const { return topology().data; }
  int replica() const { return topology().dp_rank(); }
  // Whether this rank gets the logits: the replica's last pipeline stage (every tensor-parallel rank of it).
  bool holds_logits() const { return topology().pp_rank() == topology().pipeline - 1; }
  // The one rank per replica that reports what the replica computed (last stage, tensor rank 0).
  bool reports() const { return holds_logits() && topology().tp_rank() == 0; }
  // World rank 0: the one that prints and writes files.
  bool prints() const { return topology().rank == 0; }

  // The model forward on token ids (b, t), row-major, called by every rank of this replica with the same
  // tokens; no dropout. Returns the logits (b·t, padded_vocab) on the ranks that hold_logits() — row i·t + j
  // predicts the token after position j of sequence i — and an undefined tensor elsewhere.
  // Incremental decoding: `cache` non-null, the same per-layer states for every call of one generation, and
  // `decode_position` the first position of `tokens` (LayerStep::decode_position).
  Tensor logits(std::span<const std::int32_t> tokens, std::int64_t b, std::int64_t t,
                std::vector<SavedState>* cache = nullptr, std::int64_t decode_position = -1);
  // The mean loss of the batch against `targets` (b, t) on the ranks that hold_logits(), NaN elsewhere.
  double loss(std::span<const std::int32_t> tokens, std::span<const std::int32_t> targets, std::int64_t b,
              std::int64_t t);

  // Element-wise sums over the whole world (each value once per rank that adds it): how every rank learns
  // what the reporting ranks computed. Exact for what evaluation sends (each value is added by one rank,
  // zeros by the others). One rank: `values` unchanged.
  std::vector<double> sum_over_world(std::vector<double> values);

  // An error on one rank, after the communicator exists: printed with the rank and the whole job ended with
  // exit status 1, as training does, so no rank is left waiting in a collective. One process: rethrown.
  // Call it from the handler that caught `error`.
  [[noreturn]] void abort_job(const std::exception& error);

 private:
  Table recipe_;
  std::unique_ptr<Communicator> comm_;
  ProcessGroups groups_;
  std::unique_ptr<Stage> stage_;
  std::vector<SavedState> saved_;  // the forward's per-layer states when no cache is given
};

}  // namespace mtnlg::host::eval
