#include "flat_runs.hpp"

#include <algorithm>

#include "mtnlg/str.hpp"

namespace mtnlg::optim {
namespace {

// A buffer whose values and gradients can be sliced alike: the same length and dtype, both contiguous (a
// multi-tensor slice is a sub-buffer of each).
bool sliceable(const FlatBuffer& f) {
  return f.values.defined() && f.grads.defined() && f.values.is_contiguous() && f.grads.is_contiguous() &&
         f.values.numel() == f.grads.numel() && f.values.dtype() == f.grads.dtype();
}

// The buffer whose storages hold p's value and gradient, if any.
std::optional<std::size_t> buffer_of(const OptimizerParam& p, const std::vector<FlatBuffer>& flat) {
  for (std::size_t b = 0; b < flat.size(); ++b)
    if (sliceable(flat[b]) && p.value.storage() == flat[b].values.storage() &&
        p.grad.storage() == flat[b].grads.storage() && p.value.dtype() == flat[b].values.dtype())
      return b;
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<FlatPlace>> place_in_flat(const std::vector<OptimizerParam>& params,
                                                    const std::vector<FlatBuffer>& flat, std::string& why) {
  std::vector<FlatPlace> places;
  places.reserve(params.size());
  for (const OptimizerParam& p : params) {
    const std::optional<std::size_t> b = p.value.defined() && p.grad.defined() && p.value.is_contiguous() &&
                                                 p.grad.is_contiguous() && p.grad.numel() == p.value.numel()
                                             ? buffer_of(p, flat)
                                             : std::nullopt;
    if (!b) {
      why = str("parameter '", p.name, "' is not a contiguous view into one of the ", flat.size(),
                " flat buffer(s) attach was given");
      return std::nullopt;
    }
    const FlatBuffer& f = flat[*b];
    const std::int64_t offset = p.value.offset() - f.values.offset();
    if (p.grad.offset() - f.grads.offset() != offset) {
      why = str("parameter '", p.name, "' has its value at element ", offset, " of flat buffer ", *b,
                " but its gradient at element ", p.grad.offset() - f.grads.offset());
      return std::nullopt;
    }
    if (offset < 0 || offset + p.value.numel() > f.values.numel()) {
      why = str("parameter '", p.name, "' lies outside flat buffer ", *b, " (elements ", offset, " to ",
                offset + p.value.numel(), " of ", f.values.numel(), ")");
      return std::nullopt;
    }
    places.push_back({*b, offset});
  }
  // Disjoint: in buffer order, each parameter with elements begins after every earlier one has ended. An
  // empty parameter shares no element, whatever its offset.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i].value.numel() > 0) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return places[a].buffer != places[b].buffer ? places[a].buffer < places[b].buffer
                                                : places[a].offset < places[b].offset;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const std::size_t a = order[k - 1], b = order[k];
    if (places[a].buffer == places[b].buffer &&
        places[a].offset + params[a].value.numel() > places[b].offset) {
      why = str("parameters '", params[a].name, "' and '", params[b].name, "' share elements of flat buffer ",
                places[a].buffer);
      return std::nullopt;
    }
  }
  return places;
}

std::vector<FlatRun> flat_runs(const std::vector<OptimizerParam>& params,
                               const std::vector<FlatPlace>& places) {
  std::vector<FlatRun> runs;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::int64_t n = params[i].value.numel();
    if (n == 0) continue;
    const FlatPlace& at = places[i];
    const bool decay = params[i].spec.weight_decay;
    if (!runs.empty() && runs.back().buffer == at.buffer && runs.back().end == at.offset &&
        runs.back().weight_decay == decay) {
      runs.back().end += n;
    } else {
      runs.push_back({at.buffer, at.offset, at.offset + n, decay});
    }
  }
  return runs;
}

}  // namespace mtnlg::optim
