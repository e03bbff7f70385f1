#include "training/process_groups.hpp"

namespace mtnlg::host {

ProcessGroups ProcessGroups::create(Communicator& comm, const Topology& t) {
  const int tp = t.tp_rank(), dp = t.dp_rank(), pp = t.pp_rank();
  ProcessGroups g;
  // Color = the coordinates the group's members share; key = the coordinate that orders them.
  g.tensor = comm.split("tensor", dp + t.data * pp, tp);
  g.data = comm.split("data", tp + t.tensor * pp, dp);
  g.pipeline = comm.split("pipeline", tp + t.tensor * dp, pp);
  // The first and last stage of each pipeline share the tied embedding; every other rank is alone.
  const bool ends = pp == 0 || pp == t.pipeline - 1;
  g.embedding = comm.split("embedding", ends ? tp + t.tensor * dp : t.tensor * t.data + t.rank, pp);
  g.world = comm.split("world", 0, t.rank);
  return g;
}

}  // namespace mtnlg::host
