#include "plan/stage_measure.hpp"

#include "training/recipe_schema.hpp"

namespace mtnlg::host::plan {

StageOptions meta_stage_options(const Topology& topology, bool stand_in_reader) {
  StageOptions options{.backend_override = "meta", .topology = topology};
  if (stand_in_reader) {
    options.reader_override = "synthetic";
    options.reader_override_params.set("pattern", Value("random"));
    options.reader_override_params.set("vocab", Value(0));
  }
  return options;
}

StageMeasure measure_stage(const Table& recipe, const Registry& registry, const Topology& topology,
                           const MeasureOptions& options) {
  Stage stage(recipe, registry, meta_stage_options(topology, true));
  const ParamStore& params = stage.engine().params();
  StageMeasure m;
  m.stage = topology.pp_rank();
  m.local_params = params.local_numel();
  const std::size_t n = static_cast<std::size_t>(m.local_params);
  m.parameters = m.gradients = n * dtype_size(train_dtype(recipe));
  for (const auto& p : params.params()) m.shapes.push_back(p.local_shape);
  m.master = params.mixed() ? 2 * n * dtype_size(DType::f32) : 0;
  const FlatBuffer reduced = params.update_buffers();
  m.reduced_bytes = static_cast<std::size_t>(reduced.grads.numel()) * dtype_size(reduced.grads.dtype());
  const AllocStats setup = stage.backend().alloc_stats();
  m.setup = setup.current_bytes;
  const std::size_t accounted = m.parameters + m.gradients + m.master;
  m.optimizer = m.setup > accounted ? m.setup - accounted : 0;
  if (!options.run_step) return m;

  const int M = stage.micro_batches();
  const double lr = stage.optimizer() != nullptr ? stage.optimizer()->base_lr() : 0.0;
  stage.engine().train_step({.step = 1, .lr = lr, .micro_batches = M});
  const AllocStats full = stage.backend().alloc_stats();
  m.peak = full.peak_bytes;
  if (options.traffic) {
    // The difference of two steps cancels what a step allocates once (gradient reduction, optimizer).
    const int more = M + topology.virtual_stages();
    stage.engine().train_step({.step = 2, .lr = lr, .micro_batches = more});
    const AllocStats second = stage.backend().alloc_stats();
    m.bytes_per_micro_batch = static_cast<double>((second.total_bytes - full.total_bytes) -
                                                  (full.total_bytes - setup.total_bytes)) /
                              (more - M);
  }
  return m;
}

}  // namespace mtnlg::host::plan
