#include "quality_train.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::quality {

namespace {

// std::mt19937_64's outputs are fixed by the standard; the bounded draw and the shuffle are ours, since
// std::uniform_int_distribution and std::shuffle differ between standard libraries.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : mt_(seed) {}
  std::uint64_t below(std::uint64_t n) {  // uniform in [0, n), by rejection (no modulo bias)
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x;
    do x = mt_();
    while (x >= limit);
    return x % n;
  }
  template <class T>
  void shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::mt19937_64 mt_;
};

struct Example {
  const SparseFeatures* x;
  double y;       // 1 high, 0 low
  double weight;  // class balancing
};

double accuracy(const QualityModel& m, const std::vector<Example>& examples) {
  if (examples.empty()) return -1.0;
  std::size_t right = 0;
  for (const Example& e : examples) right += (m.score(*e.x) >= 0.5) == (e.y == 1.0);
  return static_cast<double>(right) / examples.size();
}

}  // namespace

QualityModel train(const LabelledDocuments& docs, const TrainOptions& options, TrainReport& report) {
  MTNLG_CHECK(options.features > 0, "--features must be positive");
  MTNLG_CHECK(options.epochs >= 1, str("--epochs must be at least 1, got ", options.epochs));
  MTNLG_CHECK(options.lr > 0 && std::isfinite(options.lr), str("--lr must be positive, got ", options.lr));
  MTNLG_CHECK(options.l2 >= 0 && options.lr * options.l2 < 1,
              str("--l2 must be at least 0 and --lr * --l2 below 1, got --l2 ", options.l2));
  MTNLG_CHECK(options.holdout >= 0 && options.holdout < 1,
              str("--holdout must be in [0, 1), got ", options.holdout));
  MTNLG_CHECK(!docs.high.empty() && !docs.low.empty(), "training needs high- and low-quality documents");

  Rng rng(options.seed);
  std::vector<Example> training, heldout;
  std::size_t class_train[2] = {0, 0};
  const std::vector<SparseFeatures>* classes[2] = {&docs.low, &docs.high};
  for (int label = 1; label >= 0; --label) {
    const auto& corpus = *classes[label];
    std::vector<std::size_t> order(corpus.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    rng.shuffle(order);
    // Never hold out a whole class: training needs at least one document of each.
    const std::size_t held =
        std::min(static_cast<std::size_t>(options.holdout * corpus.size()), corpus.size() - 1);
    for (std::size_t k = 0; k < order.size(); ++k)
      (k < held ? heldout : training).push_back({&corpus[order[k]], static_cast<double>(label), 1.0});
    class_train[label] = corpus.size() - held;
    (label ? report.high_heldout : report.low_heldout) = held;
  }
  report.high_train = class_train[1];
  report.low_train = class_train[0];
  for (Example& e : training) e.weight = training.size() / (2.0 * class_train[e.y == 1.0 ? 1 : 0]);

  // SGD with the L2 decay kept as one scale factor (w = scale * v), so a step costs the document's features,
  // not the 2^20 weights (Bottou's trick).
  QualityModel model;
  model.feature_count = options.features;
  std::vector<double>& v = model.weights;
  v.assign(options.features, 0.0);
  double scale = 1.0;
  const double decay = 1.0 - options.lr * options.l2;
  std::vector<std::size_t> order(training.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    rng.shuffle(order);
    for (const std::size_t i : order) {
      const Example& e = training[i];
      double z = model.bias;
      for (const auto& [j, x] : *e.x) z += scale * v[j] * x;
      const double g = e.weight * (sigmoid(z) - e.y);  // d(log loss)/dz
      scale *= decay;
      const double step = options.lr * g / scale;
      for (const auto& [j, x] : *e.x) v[j] -= step * x;
      model.bias -= options.lr * g;
      if (scale < 1e-9) {  // fold the scale in before v grows out of range
        for (double& w : v) w *= scale;
        scale = 1.0;
      }
    }
  }
  for (double& w : v) w *= scale;

  report.train_accuracy = accuracy(model, training);
  report.heldout_accuracy = accuracy(model, heldout);
  model.training = nlohmann::ordered_json{
      {"epochs", options.epochs},
      {"lr", options.lr},
      {"l2", options.l2},
      {"holdout", options.holdout},
      {"seed", options.seed},
      {"high_documents", docs.high.size()},
      {"low_documents", docs.low.size()},
      {"train_accuracy", report.train_accuracy},
      {"heldout_accuracy", report.heldout_accuracy < 0 ? nlohmann::ordered_json(nullptr)
                                                       : nlohmann::ordered_json(report.heldout_accuracy)}};
  return model;
}

}  // namespace mtnlg::data::quality
