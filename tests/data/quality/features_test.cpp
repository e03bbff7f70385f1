// The classifier's features: the hash is pinned (a model's weights are only meaningful with the hash it was
// trained with), words are lower-cased unigrams and bigrams, and the vector has unit length.
#include <gtest/gtest.h>

#include <cmath>

#include "feature_hash.hpp"
#include "features.hpp"

namespace mtnlg::data::quality {
namespace {

double norm(const SparseFeatures& f) {
  double s = 0;
  for (const auto& [i, v] : f) s += v * v;
  return std::sqrt(s);
}

TEST(FeatureHash, IsPinned) {
  // If these change, every saved model silently means something else: bump kModelVersion instead.
  EXPECT_EQ(feature_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(feature_hash("the"), 0x901962260b6a34d5ULL);
  FeatureHash streamed;
  streamed.add("the");
  streamed.add(" ");
  streamed.add("cat");
  EXPECT_EQ(streamed.finish(), feature_hash("the cat"));
}

TEST(Features, UnigramsAndBigramsLowerCased) {
  const auto f = extract_features("The cat", 1u << 20);
  ASSERT_EQ(f.size(), 3u);  // "the", "cat", "the cat"
  EXPECT_EQ(f, extract_features("the CAT!!", 1u << 20));
  EXPECT_NEAR(norm(f), 1.0, 1e-12);
  for (const auto& [i, v] : f) EXPECT_NEAR(v, 1 / std::sqrt(3.0), 1e-12);
}

TEST(Features, RepeatsCountAndBucketsAreSortedAndDistinct) {
  const auto f = extract_features("a a a b", 1u << 20);  // a x3, b, "a a" x2, "a b"
  ASSERT_EQ(f.size(), 4u);
  for (std::size_t k = 1; k < f.size(); ++k) EXPECT_LT(f[k - 1].first, f[k].first);
  EXPECT_NEAR(norm(f), 1.0, 1e-12);
  const auto tiny = extract_features("one two three four five six", 4);  // everything collides into 4 buckets
  for (const auto& [i, v] : tiny) EXPECT_LT(i, 4u);
}

TEST(Features, UnicodeStaysInsideWordsAndEmptyHasNone) {
  EXPECT_EQ(extract_features("café", 1u << 20).size(), 1u);
  EXPECT_TRUE(extract_features("", 1u << 20).empty());
  EXPECT_TRUE(extract_features(" \n\t.,;!? ", 1u << 20).empty());
}

}  // namespace
}  // namespace mtnlg::data::quality
