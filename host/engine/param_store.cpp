#include "engine/param_store.hpp"

#include <algorithm>
#include <cstring>

#include "mtnlg/ops.hpp"
#include "mtnlg/rng.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {

class LayerParamView final : public ParamSet {
 public:
  std::map<std::string, const StoredParam*, std::less<>> by_name;
  std::string layer_label;

  Tensor value(std::string_view name) const override { return lookup(name).value; }
  Tensor grad(std::string_view name) const override { return lookup(name).grad; }

 private:
  const StoredParam& lookup(std::string_view name) const {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      std::string known;
      for (const auto& [k, p] : by_name) known += (known.empty() ? "" : ", ") + k;
      fail(str(layer_label, " asked for parameter '", name,
               "', but it declared only: ", known.empty() ? "none" : known));
    }
    return *it->second;
  }
};

// Host copy of rank `tp.rank`'s slice along `dim` of a row-major tensor of `shape`.
template <class T>
void copy_slice(const std::vector<double>& full, const Shape& shape, int dim, TensorParallelSlot tp, T* out) {
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < dim; ++i) outer *= shape[i];
  for (std::size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  const std::int64_t len = shape[dim] / tp.size;
  for (std::int64_t o = 0; o < outer; ++o) {
    const std::int64_t src = (o * shape[dim] + tp.rank * len) * inner;
    for (std::int64_t k = 0; k < len * inner; ++k) out[o * len * inner + k] = static_cast<T>(full[src + k]);
  }
}

}  // namespace

std::string StoredParam::full_name() const {
  return str(layer_index, '.', spec.name);
}

ParamStore::ParamStore(Backend& backend, const std::vector<std::vector<ParamSpec>>& declared,
                       const std::vector<int>& layer_indices, DType dtype, const ParamLayout& layout)
    : backend_(backend), dtype_(dtype), tp_(layout.tp) {
  const TensorParallelSlot tp = layout.tp;
  MTNLG_CHECK(layout.pad_to >= 1, "ParamStore: pad_to must be >= 1");
  MTNLG_CHECK(declared.size() == layer_indices.size(), "ParamStore: one index per layer expected");
  // Each declaration maps to a stored parameter; tied declarations map to the first one of their tie.
  std::vector<std::vector<std::size_t>>& owner = owner_;
  owner.resize(declared.size());
  std::map<std::string, std::size_t, std::less<>> ties;
  std::int64_t total = 0;
  std::vector<std::int64_t> offsets;
  for (std::size_t l = 0; l < declared.size(); ++l) {
    for (const ParamSpec& spec : declared[l]) {
      if (!spec.tie.empty()) {
        if (const auto it = ties.find(spec.tie); it != ties.end()) {
          const StoredParam& first = params_[it->second];
          MTNLG_CHECK(
              first.spec.shape == spec.shape && first.spec.tp_dim == spec.tp_dim,
              str("layer ", layer_indices[l], " ties parameter '", spec.name, "' ", shape_str(spec.shape),
                  " to '", spec.tie, "', first declared by layer ", first.layer_index, " as ",
                  shape_str(first.spec.shape), "; tied parameters need the same shape and partitioning"));
          owner[l].push_back(it->second);
          continue;
        }
        ties.emplace(spec.tie, params_.size());
      }
      StoredParam p;
      p.layer_index = layer_indices[l];
      p.spec = spec;
      p.local_shape = spec.shape;
      p.init_layer_index = p.layer_index;
      p.init_name = spec.name;
      if (!spec.tie.empty()) {
        if (const auto origin = layout.ties.find(spec.tie); origin != layout.ties.end()) {
          p.init_layer_index = origin->second.layer_index;
          p.init_name = origin->second.name;
          p.stage_copy = !origin->second.on_this_stage;
        }
      }
      p.counts_in_norm = !p.stage_copy && (spec.tp_dim >= 0 || tp.rank == 0);
      if (spec.tp_dim >= 0) {
        MTNLG_CHECK(spec.tp_dim < static_cast<int>(spec.shape.size()),
                    str("parameter ", p.full_name(), ": tp_dim ", spec.tp_dim, " out of range for ",
                        shape_str(spec.shape)));
        MTNLG_CHECK(spec.shape[spec.tp_dim] % tp.size == 0,
                    str("parameter ", p.full_name(), " ", shape_str(spec.shape), ": dimension ", spec.tp_dim,
                        " does not divide by the tensor-parallel size ", tp.size));
        p.local_shape[spec.tp_dim] /= tp.size;
      }
      owner[l].push_back(params_.size());
      offsets.push_back(total);
      total += shape_numel(p.local_shape);
      params_.push_back(std::move(p));
    }
  }
  total = (total + layout.pad_to - 1) / layout.pad_to * layout.pad_to;
  flat_.values = backend_.empty({total}, dtype_);
  flat_.grads = backend_.empty({total}, dtype_);
  mixed_ = dtype_ == DType::bf16 || dtype_ == DType::f16;
  if (mixed_) {
    master_.values = backend_.empty({total}, DType::f32);
    master_.grads = backend_.empty({total}, DType::f32);
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    params_[i].offset = offsets[i];
    params_[i].value = flat_.values.sub_buffer(offsets[i], params_[i].local_shape);
    params_[i].grad = flat_.grads.sub_buffer(offsets[i], params_[i].local_shape);
    if (mixed_) {
      params_[i].master = master_.values.sub_buffer(offsets[i], params_[i].local_shape);
      params_[i].main_grad = master_.grads.sub_buffer(offsets[i], params_[i].local_shape);
    }
  }
  for (std::size_t l = 0; l < declared.size(); ++l) {
    auto view = std::make_unique<LayerParamView>();
    view->layer_label = str("layer ", layer_indices[l]);
    for (std::size_t k = 0; k < declared[l].size(); ++k) {
      const bool fresh = view->by_name.emplace(declared[l][k].name, &params_[owner[l][k]]).second;
      MTNLG_CHECK(fresh,
                  str("layer ", layer_indices[l], " declares parameter '", declared[l][k].name, "' twice"));
    }
    views_.push_back(std::move(view));
  }
}

void ParamStore::initialize(std::uint64_t seed) {
  if (backend_.device().kind == DeviceKind::meta) return;
  const FlatBuffer target = update_buffers();  // the master weights in mixed precision
  if (target.values.numel() > 0) backend_.run(ops::fill, ops::FillArgs{target.values, 0.0});  // and padding
  std::vector<Tensor> staging;  // host copies stay alive until synchronize(): uploads may be deferred
  for (const StoredParam& p : params_) {
    const std::int64_t n = shape_numel(p.spec.shape);
    std::vector<double> full(static_cast<std::size_t>(n));
    // InitSpec::rows: only the first rows of dimension 0 are drawn (the vocabulary), the rest stay zero
    // (its padding). Element i keys the same draw either way, so the real rows do not depend on the padding.
    const std::int64_t drawn =
        p.spec.init.rows < 0 || p.spec.shape.empty()
            ? n
            : std::min(n, p.spec.init.rows * (n / std::max<std::int64_t>(p.spec.shape[0], 1)));
    switch (p.spec.init.kind) {
      case InitSpec::Kind::zeros:
        break;
      case InitSpec::Kind::constant:
        std::fill(full.begin(), full.begin() + drawn, p.spec.init.value);
        break;
      case InitSpec::Kind::normal: {
        const rng::Key key = rng::derive_key(seed, p.init_layer_index, p.init_name);
        for (std::int64_t i = 0; i < drawn; ++i)
          full[i] = p.spec.init.value * rng::normal(key, static_cast<std::uint64_t>(i));
        break;
      }
    }
    const DType dtype = target.values.dtype();
    Tensor host = host_tensor(p.local_shape, dtype);
    const int dim = p.spec.tp_dim >= 0 ? p.spec.tp_dim : 0;
    const TensorParallelSlot slot = p.spec.tp_dim >= 0 ? tp_ : TensorParallelSlot{};
    if (p.spec.shape.empty()) {
      if (dtype == DType::f64)
        *host.data_as<double>() = full[0];
      else
        *host.data_as<float>() = static_cast<float>(full[0]);
    } else if (dtype == DType::f64) {
      copy_slice(full, p.spec.shape, dim, slot, host.data_as<double>());
    } else if (dtype == DType::f32) {
      copy_slice(full, p.spec.shape, dim, slot, host.data_as<float>());
    } else {
      fail(str("parameter initialisation in ", dtype_name(dtype), " is not supported"));
    }
    backend_.upload(p.update_value(), host.data());
    staging.push_back(std::move(host));
  }
  if (mixed_) publish_master(0, flat_.values.numel());
  backend_.synchronize();
}

void ParamStore::zero_grads() {
  if (flat_.grads.numel() > 0) backend_.run(ops::fill, ops::FillArgs{flat_.grads, 0.0});
  if (mixed_ && master_.grads.numel() > 0) backend_.run(ops::fill, ops::FillArgs{master_.grads, 0.0});
}

void ParamStore::accumulate_main_grads(const std::vector<std::size_t>& indices) {
  if (!mixed_) return;
  for (std::size_t i : indices) {
    const StoredParam& p = params_[i];
    if (p.grad.numel() == 0) continue;
    const Tensor widened = backend_.empty(p.grad.shape(), DType::f32);
    backend_.run(ops::cast, ops::CastArgs{p.grad, widened});
    backend_.run(ops::axpy, ops::AxpyArgs{widened, p.main_grad, 1.0});
    backend_.run(ops::fill, ops::FillArgs{p.grad, 0.0});
  }
}

void ParamStore::publish_master(std::int64_t begin, std::int64_t end) {
  if (!mixed_ || end <= begin || backend_.device().kind == DeviceKind::meta) return;
  backend_.run(ops::cast, ops::CastArgs{master_.values.sub_buffer(begin, {end - begin}),
                                        flat_.values.sub_buffer(begin, {end - begin})});
}

std::vector<OptimizerParam> ParamStore::optimizer_params() const {
  std::vector<OptimizerParam> out;
  for (const StoredParam& p : params_)
    out.push_back({p.full_name(), p.spec, p.update_value(), p.update_grad()});
  return out;
}

std::int64_t ParamStore::global_numel() const {
  std::int64_t n = 0;
  for (const StoredParam& p : params_) n += shape_numel(p.spec.shape);
  return n;
}

}  // namespace mtnlg::host
