#pragma once
// Training the quality classifier the way GPT-3 (appendix A) and MT-NLG describe it: logistic regression that
// tells a curated "high quality" corpus (WebText, books, Wikipedia) from raw web text, on hashed word
// n-grams.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "quality_model.hpp"

namespace mtnlg::data::quality {

struct TrainOptions {
  std::uint32_t features = 1u << 20;
  int epochs = 5;
  double lr = 0.5;       // SGD step size (features are unit length, so it needs no tuning per corpus)
  double l2 = 1e-6;      // L2 penalty on the weights (not the bias), per example
  double holdout = 0.1;  // fraction of each class held out for the held-out accuracy
  std::uint64_t seed = 1234;
};

struct TrainReport {
  std::size_t high_train = 0, low_train = 0, high_heldout = 0, low_heldout = 0;
  double train_accuracy = 0.0;
  double heldout_accuracy = -1.0;  // < 0: nothing was held out
};

// Documents as feature vectors; label 1 = high quality.
struct LabelledDocuments {
  std::vector<SparseFeatures> high, low;
};

// Deterministic given options.seed (our own shuffles; no std:: distribution, whose results vary by library):
//  1. per class, a seeded shuffle; the first floor(holdout * n) documents are held out;
//  2. SGD on the rest for `epochs` passes, each in a fresh seeded order, on the class-balanced log loss (each
//     class weighs half, however many documents it has) plus l2/2 * |w|^2;
//  3. accuracies at score 0.5 on the training and held-out documents.
// The model is trained on the training documents only, so its held-out accuracy is an honest estimate.
QualityModel train(const LabelledDocuments& docs, const TrainOptions& options, TrainReport& report);

}  // namespace mtnlg::data::quality
