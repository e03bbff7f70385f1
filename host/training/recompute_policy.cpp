#include "training/recompute_policy.hpp"

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

RecomputePolicy RecomputePolicy::from_recipe(const Table& recipe) {
  const Table& train = recipe.get_table("train");
  const std::string mode = train.get_string("recompute");
  RecomputePolicy policy;
  policy.interval = static_cast<int>(train.get_int("recompute_interval"));
  if (mode == "full")
    policy.mode = RecomputeMode::full;
  else if (mode == "selective")
    policy.mode = RecomputeMode::selective;
  else
    MTNLG_CHECK(mode == "none", str("train.recompute = \"", mode, "\" was not validated"));
  return policy;
}

std::string RecomputePolicy::describe() const {
  switch (mode) {
    case RecomputeMode::none:
      return "none";
    case RecomputeMode::full:
      return interval == 1 ? "full (every block)" : str("full (one block in ", interval, ")");
    case RecomputeMode::selective:
      return "selective (attention core)";
  }
  return "none";
}

}  // namespace mtnlg::host
