// The classifier separates two synthetic corpora, deterministically given its seed; the train/held-out split
// and the options are checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "mtnlg/error.hpp"
#include "quality_train.hpp"
#include "synthetic_corpora.hpp"

namespace mtnlg::data::quality {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

LabelledDocuments corpora(int high, int low, std::uint32_t features) {
  std::mt19937 rng(11);
  LabelledDocuments docs;
  for (int i = 0; i < high; ++i) docs.high.push_back(extract_features(testing::high_document(rng), features));
  for (int i = 0; i < low; ++i) docs.low.push_back(extract_features(testing::low_document(rng), features));
  return docs;
}

TEST(QualityTrain, SeparatesSyntheticCorporaOnHeldOutDocuments) {
  // Unbalanced on purpose: class balancing must keep the minority class from being ignored.
  const LabelledDocuments docs = corpora(300, 900, 1u << 20);
  TrainReport r;
  const QualityModel m = train(docs, TrainOptions{}, r);
  EXPECT_EQ(r.high_heldout, 30u);
  EXPECT_EQ(r.low_heldout, 90u);
  EXPECT_EQ(r.high_train, 270u);
  EXPECT_EQ(r.low_train, 810u);
  EXPECT_GE(r.train_accuracy, 0.95);
  EXPECT_GE(r.heldout_accuracy, 0.9);
  std::mt19937 fresh(99);  // documents never seen in training
  int right = 0;
  for (int i = 0; i < 100; ++i) {
    right += m.score(testing::high_document(fresh)) > 0.5;
    right += m.score(testing::low_document(fresh)) < 0.5;
  }
  EXPECT_GE(right, 180);
  EXPECT_GT(m.score(""), 0.0);  // an empty document scores sigmoid(bias), a probability
  EXPECT_LT(m.score(""), 1.0);
}

TEST(QualityTrain, SameSeedSameModelOtherSeedOtherModel) {
  const LabelledDocuments docs = corpora(60, 60, 1u << 12);
  TrainReport r1, r2, r3;
  TrainOptions o;
  o.features = 1u << 12;
  const QualityModel a = train(docs, o, r1), b = train(docs, o, r2);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.bias, b.bias);
  o.seed = 99;
  EXPECT_NE(train(docs, o, r3).weights, a.weights);
}

TEST(QualityTrain, HoldsOutNothingWhenAskedAndNeverAWholeClass) {
  const LabelledDocuments docs = corpora(3, 1, 1u << 10);
  TrainOptions o;
  o.features = 1u << 10;
  o.holdout = 0.5;
  TrainReport r;
  train(docs, o, r);
  EXPECT_EQ(r.high_heldout, 1u);
  EXPECT_EQ(r.low_heldout, 0u);  // the only low document trains
  o.holdout = 0;
  train(docs, o, r);
  EXPECT_LT(r.heldout_accuracy, 0);
}

TEST(QualityTrain, RefusesBadOptionsAndMissingClasses) {
  LabelledDocuments docs = corpora(5, 5, 1u << 10);
  TrainReport r;
  TrainOptions o;
  o.features = 1u << 10;
  o.holdout = 1.0;
  EXPECT_THAT([&] { train(docs, o, r); }, ThrowsMessage<Error>(HasSubstr("--holdout must be in [0, 1)")));
  o = TrainOptions{};
  o.epochs = 0;
  EXPECT_THAT([&] { train(docs, o, r); }, ThrowsMessage<Error>(HasSubstr("--epochs must be at least 1")));
  docs.low.clear();
  EXPECT_THAT([&] { train(docs, TrainOptions{}, r); },
              ThrowsMessage<Error>(HasSubstr("high- and low-quality")));
}

}  // namespace
}  // namespace mtnlg::data::quality
