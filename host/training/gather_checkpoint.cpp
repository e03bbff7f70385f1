#include "training/gather_checkpoint.hpp"

#include <cstring>
#include <map>
#include <set>

#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {

// Copies tensor-parallel slice `part` of `parts` along `dim` into the full row-major tensor.
void place_slice(const Tensor& full, const Tensor& slice, int dim, int part, int parts) {
  const Shape& shape = full.shape();
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < dim; ++i) outer *= shape[i];
  for (std::size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  const std::int64_t len = shape[dim] / parts;
  const std::size_t es = dtype_size(full.dtype());
  auto* dst = static_cast<char*>(full.data());
  const auto* src = static_cast<const char*>(slice.data());
  for (std::int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + ((o * shape[dim] + part * len) * inner) * es, src + (o * len * inner) * es,
                len * inner * es);
}

}  // namespace

void save_gathered_checkpoint(const std::filesystem::path& dir, const Table& recipe, Stage& stage,
                              ProcessGroup* world, const CheckpointInfo& info) {
  if (world == nullptr || world->size() == 1) {
    save_checkpoint(dir, recipe, stage.engine().params(), stage.backend(), info);
    return;
  }
  const Topology& topo = stage.topology();
  Backend& backend = stage.backend();
  const bool root = topo.rank == 0;
  std::map<std::pair<int, std::string>, const StoredParam*> mine;
  for (const StoredParam& p : stage.engine().params().params())
    if (!p.stage_copy) mine[{p.layer_index, p.spec.name}] = &p;

  const auto& model = stage.model_params();
  std::vector<int> indices(model.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int>(i);
  std::unique_ptr<ParamStore> full;
  if (root)
    // In mixed precision the fp32 master weights are gathered (save_checkpoint says why).
    full = std::make_unique<ParamStore>(backend, model, indices,
                                        stage.engine().params().params().empty()
                                            ? DType::f32
                                            : stage.engine().params().params()[0].update_value().dtype());
  std::vector<WorkHandle> sends;
  std::set<std::string> ties_seen;
  std::size_t stored = 0, replicas_checked = 0;
  int tag = 0;
  for (std::size_t layer = 0; layer < model.size(); ++layer) {
    for (const ParamSpec& spec : model[layer]) {
      if (!spec.tie.empty() && !ties_seen.insert(spec.tie).second) continue;  // stored once, at its origin
      const int pp = stage.stage_of_layer(static_cast<int>(layer));
      const int parts = spec.tp_dim >= 0 ? topo.tensor : 1;
      Tensor whole;
      if (root) whole = host_tensor(spec.shape, full->params()[stored].value.dtype());
      // A replicated parameter comes from tensor rank 0, and every other tensor rank's replica is checked
      // against it bitwise: the layout relies on replicas never drifting apart (DESIGN.md).
      const int holders = topo.tensor;
      for (int t = 0; t < holders; ++t, ++tag) {
        const int holder = topo.rank_of(t, 0, pp);
        const StoredParam* local =
            holder == topo.rank ? mine.at({static_cast<int>(layer), spec.name}) : nullptr;
        if (root) {
          Shape shape = spec.shape;
          if (spec.tp_dim >= 0) shape[spec.tp_dim] /= parts;
          Tensor slice = host_tensor(shape, whole.dtype());
          if (local) {
            backend.download(slice.data(), local->update_value());
            backend.synchronize();
          } else {
            // Into the backend's memory, then to the host: a device communicator moves device tensors only.
            const Tensor received = backend.empty(shape, whole.dtype());
            world->recv(backend, received, holder, tag)->wait();
            backend.download(slice.data(), received);
            backend.synchronize();
          }
          if (spec.tp_dim >= 0) {
            place_slice(whole, slice, spec.tp_dim, t, parts);
          } else if (t == 0) {
            std::memcpy(whole.data(), slice.data(), whole.nbytes());
          } else {
            MTNLG_CHECK(std::memcmp(whole.data(), slice.data(), whole.nbytes()) == 0,
                        str("parameter ", layer, ".", spec.name,
                            " is replicated over tensor-parallel ranks but rank ", holder,
                            "'s copy differs from rank ", topo.rank_of(0, 0, pp),
                            "'s: the replicas drifted apart (a bug: please report it with the recipe)"));
            ++replicas_checked;
          }
        } else if (local) {
          sends.push_back(world->send(backend, local->update_value(), 0, tag));
        }
      }
      if (root) {
        backend.upload(full->params()[stored].value, whole.data());
        backend.synchronize();
      }
      ++stored;
    }
  }
  for (WorkHandle& w : sends) w->wait();
  if (root && topo.tensor > 1)
    log_info("checkpoint: ", replicas_checked,
             " tensor-parallel replicas checked, bitwise equal to tensor rank 0's");
  if (root) {
    Table saved_recipe = recipe;
    if (stage.engine().params().mixed()) saved_recipe.find("train")->as_table().set("dtype", Value("f32"));
    save_checkpoint(dir, saved_recipe, *full, backend, info);
  }
}

}  // namespace mtnlg::host
