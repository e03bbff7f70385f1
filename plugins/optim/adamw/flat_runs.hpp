#pragma once
// Where each parameter lives in the flat buffers the host hands an optimizer, and the runs of neighbouring
// parameters that one elementwise op can update at once (Megatron's and apex's multi-tensor apply). Pure
// bookkeeping over tensor views: it compares storages and offsets, never reads data, so it needs no backend.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mtnlg/optimizer.hpp"

namespace mtnlg::optim {

// A parameter's value and gradient are elements [offset, offset + numel) of flat[buffer].values and
// flat[buffer].grads.
struct FlatPlace {
  std::size_t buffer = 0;
  std::int64_t offset = 0;
};

// Every parameter's place, in attach order; or nullopt, with the reason in `why`, when some parameter is not
// such a view: attached without flat buffers, its gradient at another offset than its value, or sharing
// elements with another parameter (then one flat moment per element would no longer be one per parameter
// element, and an update per run would differ from one per parameter).
std::optional<std::vector<FlatPlace>> place_in_flat(const std::vector<OptimizerParam>& params,
                                                    const std::vector<FlatBuffer>& flat, std::string& why);

// Elements [begin, end) of flat buffer `buffer`: parameters back to back that share a weight-decay rule.
struct FlatRun {
  std::size_t buffer = 0;
  std::int64_t begin = 0, end = 0;
  bool weight_decay = true;
};

// The maximal runs of parameters that follow each other in attach order and in their buffer (each starts
// where the previous one ends, so a gap such as padding ends a run) with the same spec.weight_decay, the one
// per-parameter rule of adamw. A parameter without elements (an empty slice) joins no run: it has nothing to
// update, and should not split two neighbours that would otherwise be one run.
std::vector<FlatRun> flat_runs(const std::vector<OptimizerParam>& params,
                               const std::vector<FlatPlace>& places);

}  // namespace mtnlg::optim
