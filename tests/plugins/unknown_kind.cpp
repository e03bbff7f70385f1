// A component of a kind the host does not know.
#include "mtnlg/mtnlg.hpp"

namespace {
struct Wizard final : mtnlg::Component {
  static constexpr const char* kKind = "wizard";
  explicit Wizard(const mtnlg::CreateArgs&) {}
};
}  // namespace

MTNLG_PLUGIN("test-unknown-kind", "0.0.1", mtnlg::component<Wizard>("merlin", "not a kind the host knows"))
