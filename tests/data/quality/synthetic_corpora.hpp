#pragma once
// Two synthetic corpora a quality classifier must tell apart: "high" documents are sentences from a fixed
// vocabulary of ordinary English words; "low" documents are random character junk mixed with spam words.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mtnlg::data::quality::testing {

inline std::string high_document(std::mt19937& rng) {
  static const char* const words[] = {
      "the",     "history", "of",       "science",  "shows",     "that",     "careful",  "observation",
      "and",     "patient", "research", "lead",     "to",        "new",      "ideas",    "about",
      "nature",  "this",    "article",  "explains", "how",       "early",    "scholars", "studied",
      "light",   "motion",  "and",      "the",      "structure", "of",       "matter",   "their",
      "methods", "remain",  "useful",   "today",    "for",       "students", "who",      "learn"};
  const int n = 20 + static_cast<int>(rng() % 40);
  std::string doc;
  for (int i = 0; i < n; ++i) {
    std::string w = words[rng() % std::size(words)];
    if (i % 9 == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
    doc += w;
    doc += (i % 9 == 8) ? ". " : " ";
  }
  return doc + "end.";
}

inline std::string low_document(std::mt19937& rng) {
  static const char* const spam[] = {"click", "free", "win", "casino", "cheap", "pills", "buy", "now", "xxx"};
  const int n = 10 + static_cast<int>(rng() % 40);
  std::string doc;
  for (int i = 0; i < n; ++i) {
    if (rng() % 3 == 0) {
      doc += spam[rng() % std::size(spam)];
    } else {
      const int len = 2 + static_cast<int>(rng() % 7);
      for (int k = 0; k < len; ++k) doc += "abcdefghijklmnopqrstuvwxyz0123456789"[rng() % 36];
    }
    doc += (rng() % 5 == 0) ? "!!! " : " ";
  }
  return doc;
}

}  // namespace mtnlg::data::quality::testing
