#include "features.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "feature_hash.hpp"

namespace mtnlg::data::quality {

namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

std::vector<std::string> lower_case_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_word_byte(c)) {
      word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

}  // namespace

SparseFeatures extract_features(std::string_view text, std::uint32_t count) {
  const std::vector<std::string> words = lower_case_words(text);
  std::vector<std::uint32_t> buckets;
  buckets.reserve(words.size() * 2);
  for (std::size_t i = 0; i < words.size(); ++i) {
    buckets.push_back(static_cast<std::uint32_t>(feature_hash(words[i]) % count));
    if (i + 1 < words.size()) {
      FeatureHash bigram;
      bigram.add(words[i]);
      bigram.add(" ");
      bigram.add(words[i + 1]);
      buckets.push_back(static_cast<std::uint32_t>(bigram.finish() % count));
    }
  }
  std::sort(buckets.begin(), buckets.end());
  SparseFeatures features;
  for (const std::uint32_t b : buckets) {
    if (!features.empty() && features.back().first == b)
      features.back().second += 1.0;
    else
      features.emplace_back(b, 1.0);
  }
  double norm = 0.0;
  for (const auto& [b, v] : features) norm += v * v;
  norm = std::sqrt(norm);
  for (auto& [b, v] : features) v /= norm;
  return features;
}

}  // namespace mtnlg::data::quality
