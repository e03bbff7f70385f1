#pragma once
// Test corpora with near-duplicates of known similarity: random documents over a large random vocabulary (so
// unrelated documents share no word 5-shingles), and copies mutated one word at a time until the exact
// shingle Jaccard (as dedup computes it) reaches a target.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shingles.hpp"

namespace mtnlg::data::dedup::testing {

inline std::string join_words(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) text += (text.empty() ? "" : " ") + w;
  return text;
}

class PlantedCorpus {
 public:
  explicit PlantedCorpus(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

  std::string random_word() {
    std::string w(3 + below(7), 'a');
    for (char& c : w) c = static_cast<char>('a' + below(26));
    return w;
  }

  std::vector<std::string> document(std::size_t words) {
    std::vector<std::string> doc(words);
    for (auto& w : doc) w = random_word();
    return doc;
  }

  // A copy of `original` whose word-5-shingle Jaccard to it is the lowest value >= target reachable by
  // replacing random words one at a time; *achieved receives that Jaccard.
  std::vector<std::string> near_duplicate(const std::vector<std::string>& original, double target,
                                          double* achieved) {
    const ShingleOptions word5;
    const auto base = shingle_set(join_words(original), word5);
    std::vector<std::string> copy = original;
    double current = 1.0;
    for (;;) {
      std::vector<std::string> next = copy;
      next[below(next.size())] = random_word();
      const double j = jaccard(base, shingle_set(join_words(next), word5));
      if (j < target) break;
      copy = std::move(next), current = j;
    }
    if (achieved) *achieved = current;
    return copy;
  }

 private:
  std::mt19937_64 rng_;
};

inline void write_jsonl(const std::filesystem::path& path, const std::vector<std::string>& texts) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  for (const auto& t : texts) out << nlohmann::json{{"text", t}}.dump() << '\n';
}

inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace mtnlg::data::dedup::testing
