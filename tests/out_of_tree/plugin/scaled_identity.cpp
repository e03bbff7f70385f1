// y = factor · x: a layer written against the installed mtnlg SDK only.
#include <mtnlg/mtnlg.hpp>

namespace {

class ScaledIdentity final : public mtnlg::Layer {
 public:
  explicit ScaledIdentity(const mtnlg::CreateArgs& args) : factor_(args.params.get_float("factor")) {}

 protected:
  mtnlg::Tensor do_forward(const mtnlg::LayerStep& step, const mtnlg::Tensor& x,
                           mtnlg::SavedState&) override {
    return scaled(step, x);
  }
  mtnlg::Tensor do_backward(const mtnlg::LayerStep& step, const mtnlg::Tensor& dy,
                            mtnlg::SavedState&) override {
    return scaled(step, dy);
  }

 private:
  mtnlg::Tensor scaled(const mtnlg::LayerStep& step, const mtnlg::Tensor& t) const {
    mtnlg::Tensor out = step.backend.empty(t.shape(), t.dtype());
    step.backend.run(mtnlg::ops::copy, mtnlg::ops::CopyArgs{t, out});
    step.backend.run(mtnlg::ops::scale, mtnlg::ops::ScaleArgs{out, factor_});
    return out;
  }
  double factor_;
};

const mtnlg_key_spec kKeys[] = {{"factor", MTNLG_KEY_FLOAT, "2.0", "the constant to multiply by", nullptr}};

}  // namespace

MTNLG_PLUGIN("third-party-example", "3.1.4",
             mtnlg::component<ScaledIdentity>("scaled_identity", "y = factor * x, from an out-of-tree plugin",
                                              kKeys))
