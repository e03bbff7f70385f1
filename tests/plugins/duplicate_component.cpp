// Provides a layer named like one of the stock dense layers, plus one of its own: the host must refuse the
// whole library, so neither component is registered.
#include "mtnlg/mtnlg.hpp"

namespace {
class Identity final : public mtnlg::Layer {
 public:
  explicit Identity(const mtnlg::CreateArgs&) {}

 protected:
  mtnlg::Tensor do_forward(const mtnlg::LayerStep&, const mtnlg::Tensor& x, mtnlg::SavedState&) override {
    return x;
  }
  mtnlg::Tensor do_backward(const mtnlg::LayerStep&, const mtnlg::Tensor& dy, mtnlg::SavedState&) override {
    return dy;
  }
};
}  // namespace

MTNLG_PLUGIN("test-duplicate", "0.0.1", mtnlg::component<Identity>("dup_only_here", "never registered"),
             mtnlg::component<Identity>("gelu", "clashes with the stock gelu"))
