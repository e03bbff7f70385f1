// dedup_planted_datasets DIR: writes the JSONL datasets of the multi-rank command-line tests (cli/ranks_*.sh)
// into DIR, deterministically:
//   web.jsonl, books.jsonl  unrelated documents plus planted near-duplicates (exact word-5-shingle Jaccard in
//                           [0.8, 0.95]) and exact copies (other case and spacing), within and across the
//                           two, and related pairs (Jaccard 0.55–0.78: candidates that verification rejects);
//                           web.jsonl also has blank lines, an empty document, a CRLF line and no final
//                           newline
//   long.jsonl   3 lines, the middle one ~85 % of the file: with 3 ranks, rank 1's byte range holds no line
//   start one.jsonl    1 document (a copy of a books document): fewer documents than ranks two.jsonl    2
//   documents, copies of each other; empty.jsonl (0 bytes); blank.jsonl (blank lines only) bad_a.jsonl  100
//   lines of equal length, lines 60 and 90 not JSON (read by rank 1 of 2 or 3, and by the
//                last rank)
//   bad_b.jsonl  100 lines of equal length, line 40 without "text" (rank 0 of 2, rank 1 of 3)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planted_corpus.hpp"

namespace {

namespace fs = std::filesystem;
using mtnlg::data::dedup::testing::join_words;
using mtnlg::data::dedup::testing::PlantedCorpus;

std::string json_line(const std::string& text) {
  return nlohmann::json{{"text", text}}.dump();
}

// Lines joined by '\n', with or without one after the last.
void write_lines(const fs::path& path, const std::vector<std::string>& lines, bool final_newline = true) {
  std::ofstream out(path, std::ios::binary);
  for (std::size_t i = 0; i < lines.size(); ++i)
    out << lines[i] << (i + 1 < lines.size() || final_newline ? "\n" : "");
}

std::string shouted(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> equal_documents(PlantedCorpus& g, std::size_t count) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < count; ++i) lines.push_back(json_line(join_words(g.document(50))));
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dedup_planted_datasets DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  PlantedCorpus g(11);

  std::vector<std::vector<std::string>> lines(2);  // web, books
  for (int i = 0; i < 300; ++i) lines[0].push_back(json_line(join_words(g.document(40 + g.below(60)))));
  for (int i = 0; i < 150; ++i) lines[1].push_back(json_line(join_words(g.document(40 + g.below(60)))));
  // Near-duplicates and exact copies of documents planted in random places of either dataset.
  for (int k = 0; k < 60; ++k) {
    const auto original = g.document(60 + g.below(40));
    const std::size_t from = g.below(2), to = g.below(2);
    lines[from].insert(lines[from].begin() + static_cast<std::ptrdiff_t>(g.below(lines[from].size() + 1)),
                       json_line(join_words(original)));
    const std::string copy =
        k % 4 == 0 ? "  " + shouted(join_words(original)) + " \n"
                   : join_words(g.near_duplicate(original, 0.8 + 0.15 * g.below(100) / 100.0, nullptr));
    lines[to].insert(lines[to].begin() + static_cast<std::ptrdiff_t>(g.below(lines[to].size() + 1)),
                     json_line(copy));
  }
  // Related but not duplicate (Jaccard 0.55–0.78): often LSH candidates that verification rejects.
  for (int k = 0; k < 30; ++k) {
    const auto original = g.document(60 + g.below(40));
    const auto related = g.near_duplicate(original, 0.55 + 0.23 * g.below(100) / 100.0, nullptr);
    lines[0].insert(lines[0].begin() + static_cast<std::ptrdiff_t>(g.below(lines[0].size() + 1)),
                    json_line(join_words(original)));
    lines[1].insert(lines[1].begin() + static_cast<std::ptrdiff_t>(g.below(lines[1].size() + 1)),
                    json_line(join_words(related)));
  }
  std::vector<std::string>& web = lines[0];
  web.insert(web.begin() + 7, "");
  web.insert(web.begin() + 150, "   \t");
  web.insert(web.begin() + 200, json_line(""));
  web.insert(web.begin() + 250, json_line(join_words(g.document(30))) + "\r");
  write_lines(dir / "web.jsonl", web, false);
  write_lines(dir / "books.jsonl", lines[1]);

  const auto first = g.document(40);
  std::vector<std::string> huge;
  for (int i = 0; i < 20000; ++i) huge.push_back(g.random_word());
  write_lines(dir / "long.jsonl", {json_line(join_words(first)), json_line(join_words(huge)),
                                   json_line(shouted(join_words(first)))});
  write_lines(dir / "one.jsonl", {lines[1][3]});
  const std::string twice = json_line(join_words(g.document(30)));
  write_lines(dir / "two.jsonl", {twice, twice});
  write_lines(dir / "empty.jsonl", {});
  write_lines(dir / "blank.jsonl", {"", "  ", ""});

  auto bad_a = equal_documents(g, 100), bad_b = equal_documents(g, 100);
  bad_a[59] = R"({"text": "this line is cut off)";
  bad_a[89] = R"({"text": "so is this one)";
  bad_b[39] = R"({"body": "no text field here"})";
  write_lines(dir / "bad_a.jsonl", bad_a);
  write_lines(dir / "bad_b.jsonl", bad_b);
  return 0;
}
