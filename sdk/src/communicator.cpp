#include "mtnlg/communicator.hpp"

#include <cstdlib>

#include "mtnlg/str.hpp"

namespace mtnlg {

Work::~Work() = default;

void Work::wait() {
  MTNLG_GUARDED("communicator", do_wait());
}

bool Work::test() {
  MTNLG_GUARDED("communicator", return do_test());
}

ProcessGroup::~ProcessGroup() = default;

namespace {
std::string who(const ProcessGroup& g) {
  return str("communicator group '", g.name(), "'");
}
}  // namespace

WorkHandle ProcessGroup::all_reduce(Backend& stream, const Tensor& t, ReduceOp op) {
  MTNLG_GUARDED(who(*this), return do_all_reduce(stream, t, op));
}

WorkHandle ProcessGroup::all_gather(Backend& stream, const Tensor& in, const Tensor& out) {
  MTNLG_GUARDED(who(*this), return do_all_gather(stream, in, out));
}

WorkHandle ProcessGroup::reduce_scatter(Backend& stream, const Tensor& in, const Tensor& out) {
  MTNLG_GUARDED(who(*this), return do_reduce_scatter(stream, in, out));
}

WorkHandle ProcessGroup::broadcast(Backend& stream, const Tensor& t, int root) {
  MTNLG_GUARDED(who(*this), return do_broadcast(stream, t, root));
}

WorkHandle ProcessGroup::send(Backend& stream, const Tensor& t, int peer, int tag) {
  MTNLG_GUARDED(who(*this), return do_send(stream, t, peer, tag));
}

WorkHandle ProcessGroup::recv(Backend& stream, const Tensor& t, int peer, int tag) {
  MTNLG_GUARDED(who(*this), return do_recv(stream, t, peer, tag));
}

CommTraffic ProcessGroup::traffic() const {
  MTNLG_GUARDED(who(*this), return do_traffic());
}

Communicator::~Communicator() = default;

int Communicator::rank() const {
  MTNLG_GUARDED(component_label(), return do_rank());
}

int Communicator::size() const {
  MTNLG_GUARDED(component_label(), return do_size());
}

std::unique_ptr<ProcessGroup> Communicator::split(const std::string& name, int color, int key) {
  MTNLG_GUARDED(component_label(), return do_split(name, color, key));
}

void Communicator::set_timeout(double seconds) {
  MTNLG_CHECK(seconds >= 0.0, str("communicator timeout must be >= 0 seconds, got ", seconds));
  MTNLG_GUARDED(component_label(), do_set_timeout(seconds));
}

void Communicator::abort(int exit_code) {
  try {
    do_abort(exit_code);
  } catch (...) {
  }
  std::_Exit(exit_code);  // a plugin whose abort returned or threw: end this process at least
}

}  // namespace mtnlg
