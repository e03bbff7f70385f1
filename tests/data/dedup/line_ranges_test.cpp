// The split of a file over ranks (line_ranges.hpp), without MPI: for any number of ranks, the ranks' shares,
// one after another, are exactly the file's lines as one reader sees them (same line numbers, offsets and
// bytes), including empty files, blank lines, CRLF, a missing final newline, more ranks than lines and ranks
// whose byte range holds no line start.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "jsonl_documents.hpp"
#include "line_ranges.hpp"

namespace mtnlg::data::dedup {
namespace {

namespace fs = std::filesystem;

const fs::path kWork = fs::path(MTNLG_DEDUP_TEST_WORK_DIR) / "line-ranges";

std::vector<RawLine> read_all(const fs::path& path, const LineRange& range) {
  JsonlLineReader reader(path, range.begin, range.end, range.first_line);
  std::vector<RawLine> lines, batch;
  while (reader.next_batch(batch)) lines.insert(lines.end(), batch.begin(), batch.end());
  return lines;
}

void expect_same(const std::vector<RawLine>& got, const std::vector<RawLine>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].line, want[i].line) << what << ", line " << i;
    EXPECT_EQ(got[i].offset, want[i].offset) << what << ", line " << i;
    EXPECT_EQ(got[i].bytes, want[i].bytes) << what << ", line " << i;
  }
}

// Splits the file over 1..9 ranks; returns how many (ranks, rank) shares held no line.
int check_every_split(const std::string& name, const std::string& content) {
  fs::create_directories(kWork);
  const fs::path path = kWork / (name + ".jsonl");
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  const std::vector<RawLine> whole = read_all(path, LineRange{});
  int empty_shares = 0;
  for (int ranks = 1; ranks <= 9; ++ranks) {
    std::vector<RawLine> joined;
    std::uint64_t first_line = 1, previous_end = 0;
    for (int rank = 0; rank < ranks; ++rank) {
      LineRange range = rank_line_range(path, rank, ranks);
      EXPECT_EQ(range.begin, previous_end) << name << ": rank " << rank << " of " << ranks;
      EXPECT_LE(range.begin, range.end);
      previous_end = range.end;
      range.first_line = first_line;  // what the ranks before it counted
      const auto share = read_all(path, range);
      empty_shares += share.empty() && range.begin == range.end;
      joined.insert(joined.end(), share.begin(), share.end());
      first_line += count_lines(path, range);
    }
    EXPECT_EQ(previous_end, content.size()) << name << " over " << ranks << " ranks";
    expect_same(joined, whole, name + " over " + std::to_string(ranks) + " ranks");
  }
  return empty_shares;
}

TEST(LineRanges, SharesAreTheFileLinesInOrder) {
  check_every_split("empty", "");
  check_every_split("one-line-no-newline", R"({"text": "only"})");
  check_every_split("newlines-only", "\n\n\n");
  check_every_split(
      "mixed", "{\"text\": \"a\"}\r\n\n  \n{\"text\": \"b\"}\n\n{\"text\": \"c c c\"}\n{\"text\": \"d\"}");
  std::string many;
  for (int i = 0; i < 50; ++i)
    many += "{\"text\": \"document " + std::to_string(i) + "\"}\n" + (i % 7 ? "" : "\n");
  check_every_split("many", many);
}

TEST(LineRanges, ARankWhoseRangeHoldsNoLineStartOwnsNothing) {
  const std::string long_line = "{\"text\": \"" + std::string(5000, 'x') + "\"}";
  EXPECT_GT(check_every_split("long-middle", "{\"text\": \"a\"}\n" + long_line + "\n{\"text\": \"b\"}\n"), 0);
  EXPECT_GT(check_every_split("two-lines", "{\"text\": \"a\"}\n{\"text\": \"b\"}"),
            0);  // more ranks than lines
}

TEST(LineRanges, UnreadableFileIsNamed) {
  try {
    rank_line_range("/no/such/file.jsonl", 1, 2);
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read /no/such/file.jsonl"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mtnlg::data::dedup
