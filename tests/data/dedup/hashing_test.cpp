// The building blocks of dedup: XXH64 against libxxhash's values, normalisation and shingling, Jaccard,
// MinHash agreement ≈ Jaccard, and LSH pairing exact duplicates.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "lsh.hpp"
#include "minhash.hpp"
#include "planted_corpus.hpp"
#include "shingles.hpp"
#include "xxhash64.hpp"

namespace mtnlg::data::dedup {
namespace {

TEST(Xxhash64, MatchesReferenceImplementation) {
  // Values computed with libxxhash 0.8 (XXH64(data, len, seed)), covering every tail and the 32-byte stripes.
  EXPECT_EQ(xxhash64("", 0), 0xef46db3751d8e999ULL);
  EXPECT_EQ(xxhash64("a", 0), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(xxhash64("abc", 0), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(xxhash64("hello world", 7), 0xe3188f1f1023e4d0ULL);
  std::string forty, hundred;
  for (int i = 0; i < 40; ++i) forty.push_back(static_cast<char>(i));
  for (int i = 0; i < 100; ++i) hundred.push_back(static_cast<char>(i));
  EXPECT_EQ(xxhash64(forty, 0), 0xf5da40f1b11741e9ULL);
  EXPECT_EQ(xxhash64(hundred, 12345), 0x28ba1ae2de4de27ULL);
  EXPECT_EQ(xxhash64("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", ~0ULL), 0xffcef13375fb006cULL);
}

TEST(Shingles, NormalisationLowerCasesAndCollapsesWhitespace) {
  EXPECT_EQ(normalize("  The\tQUICK \n\n brown  Fox \r\n"), "the quick brown fox");
  EXPECT_EQ(normalize("Ÿes ÉTÉ"), "Ÿes ÉtÉ");  // only ASCII is lower-cased; other UTF-8 bytes are kept
  EXPECT_EQ(normalize(" \t\n "), "");
}

TEST(Shingles, SetsIgnoreCaseAndSpacing) {
  const ShingleOptions word5;
  const auto a = shingle_set("one two three four five six seven", word5);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a, shingle_set("ONE two\n\nthree   four five six\tseven ", word5));
  EXPECT_TRUE(shingle_set("   ", word5).empty());
  EXPECT_EQ(shingle_set("too short", word5).size(), 1u);  // shorter than a shingle: one shingle of it all
  const ShingleOptions char3{ShingleUnit::character, 3};
  EXPECT_EQ(shingle_set("abcd", char3).size(), 2u);
  EXPECT_EQ(shingle_set("été!", char3).size(), 2u);  // code points, not bytes: "été", "té!"
}

TEST(Shingles, JaccardOfSets) {
  EXPECT_DOUBLE_EQ(jaccard({1, 2, 3, 4}, {3, 4, 5}), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(jaccard({1, 2}, {1, 2}), 1.0);
  EXPECT_DOUBLE_EQ(jaccard({}, {}), 0.0);  // empty documents are nobody's duplicate, not even each other's
  EXPECT_DOUBLE_EQ(jaccard({}, {1}), 0.0);
}

TEST(MinHash, AgreementEstimatesJaccard) {
  testing::PlantedCorpus corpus(7);
  const MinHasher hasher(512, 99);
  const ShingleOptions word5;
  for (const double target : {0.9, 0.7, 0.5}) {
    const auto original = corpus.document(300);
    double achieved = 0;
    const auto copy = corpus.near_duplicate(original, target, &achieved);
    std::vector<std::uint64_t> sa(512), sb(512);
    hasher.sign(shingle_set(testing::join_words(original), word5), sa);
    hasher.sign(shingle_set(testing::join_words(copy), word5), sb);
    int agree = 0;
    for (int i = 0; i < 512; ++i) agree += sa[i] == sb[i];
    // Binomial standard deviation at 512 permutations is at most 0.022; allow 4 of them.
    EXPECT_NEAR(agree / 512.0, achieved, 0.09) << "target " << target;
  }
}

TEST(MinHash, SameSeedSameSignatureOtherSeedOther) {
  const auto set = shingle_set("a b c d e f g h i j k l m n o p", ShingleOptions{});
  std::vector<std::uint64_t> a(64), b(64), c(64);
  MinHasher(64, 5).sign(set, a);
  MinHasher(64, 5).sign(set, b);
  MinHasher(64, 6).sign(set, c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (const auto v : a) EXPECT_LT(v, MinHasher::kPrime);
}

TEST(Lsh, PairsIdenticalSignaturesAndSkipsIneligible) {
  // Documents 0, 2, 3 share a signature; 1 differs everywhere; 3 is ineligible (an empty document).
  const LshShape shape{4, 2};
  std::vector<std::uint64_t> sigs;
  for (int d = 0; d < 4; ++d)
    for (int i = 0; i < 8; ++i) sigs.push_back(d == 1 ? 1000 + i : i);
  const auto pairs = candidate_pairs(sigs, 4, shape, {1, 1, 1, 0});
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0], (CandidatePair{0, 2}));
}

TEST(Lsh, GiantBucketYieldsLinearPairs) {
  const LshShape shape{2, 2};
  const std::size_t n = 5000;
  std::vector<std::uint64_t> sigs(n * 4, 42);  // all identical: one bucket of n in every band
  const auto pairs = candidate_pairs(sigs, n, shape, std::vector<std::uint8_t>(n, 1));
  EXPECT_EQ(pairs.size(), n - 1);  // star to the first member, not n·(n−1)/2
  EXPECT_EQ(pairs.front(), (CandidatePair{0, 1}));
  EXPECT_EQ(pairs.back(), (CandidatePair{0, static_cast<DocId>(n - 1)}));
}

}  // namespace
}  // namespace mtnlg::data::dedup
