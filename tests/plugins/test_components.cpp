// Components that exist only to test the host: a deterministic regression reader whose values the engine test
// recomputes by hand, a layer whose factory fails, and a layer that throws from forward.
#include <cmath>
#include <stdexcept>

#include "mtnlg/mtnlg.hpp"

namespace mtnlg::testing {

// Sample s: inputs x[j] = sin(0.37·(s+1) + 0.11·(j+1)), targets t[k] = cos(0.23·(s+1) − 0.19·(k+1)).
class RegressionReader final : public Reader {
 public:
  explicit RegressionReader(const CreateArgs& args)
      : features_(args.params.get_int("features")),
        outputs_(args.params.get_int("outputs")),
        dtype_(*dtype_from_name(args.recipe.find_path("train.dtype")->as_string())) {}

 protected:
  Batch do_read(const BatchRequest& r) override {
    Batch b{host_tensor({r.samples, features_}, dtype_), host_tensor({r.samples, outputs_}, dtype_)};
    for (int i = 0; i < r.samples; ++i) {
      const double s = static_cast<double>(r.first_sample + i + 1);
      for (std::int64_t j = 0; j < features_; ++j)
        set(b.inputs, i * features_ + j, std::sin(0.37 * s + 0.11 * (j + 1)));
      for (std::int64_t k = 0; k < outputs_; ++k)
        set(b.targets, i * outputs_ + k, std::cos(0.23 * s - 0.19 * (k + 1)));
    }
    return b;
  }

 private:
  void set(const Tensor& t, std::int64_t i, double v) const {
    if (dtype_ == DType::f64)
      t.data_as<double>()[i] = v;
    else
      t.data_as<float>()[i] = static_cast<float>(v);
  }
  std::int64_t features_, outputs_;
  DType dtype_;
};

class FailingFactoryLayer final : public Layer {
 public:
  explicit FailingFactoryLayer(const CreateArgs&) {
    throw std::runtime_error("deliberately failing factory");
  }

 protected:
  Tensor do_forward(const LayerStep&, const Tensor& x, SavedState&) override { return x; }
  Tensor do_backward(const LayerStep&, const Tensor& dy, SavedState&) override { return dy; }
};

class ThrowingLayer final : public Layer {
 public:
  explicit ThrowingLayer(const CreateArgs&) {}

 protected:
  Tensor do_forward(const LayerStep&, const Tensor&, SavedState&) override {
    throw std::logic_error("deliberate failure in forward");
  }
  Tensor do_backward(const LayerStep&, const Tensor& dy, SavedState&) override { return dy; }
};

const mtnlg_key_spec kRegressionKeys[] = {
    {"features", MTNLG_KEY_INT, nullptr, "input features per sample", nullptr},
    {"outputs", MTNLG_KEY_INT, nullptr, "targets per sample", nullptr},
};

}  // namespace mtnlg::testing

MTNLG_PLUGIN("test-components", "1.2.3",
             mtnlg::component<mtnlg::testing::RegressionReader>("test_regression",
                                                                "deterministic sin/cos samples",
                                                                mtnlg::testing::kRegressionKeys),
             mtnlg::component<mtnlg::testing::FailingFactoryLayer>("test_failing",
                                                                   "its factory always fails"),
             mtnlg::component<mtnlg::testing::ThrowingLayer>("test_throwing", "throws from forward"))
