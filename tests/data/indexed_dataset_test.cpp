// The Megatron indexed-dataset format: round trips in u16 and i32, byte-for-byte agreement with files that
// write_megatron_indexed.py writes from Megatron's published layout, reading those files, every bad-file
// error (message checked), and a writer that leaves nothing behind unless finalized.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <sys/wait.h>

#include "indexed_dataset.hpp"
#include "mtnlg/error.hpp"

namespace mtnlg::data {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using Doc = std::vector<std::int32_t>;

// A fresh directory per test: ctest runs the tests of this binary in parallel processes.
fs::path work_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir =
      fs::path(MTNLG_DATA_TEST_WORK_DIR) / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path with(const fs::path& prefix, const char* suffix) {
  return fs::path(prefix.string() + suffix);
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

void write_cpp(const fs::path& prefix, DType dtype, const std::vector<Doc>& docs) {
  IndexedDatasetWriter writer(prefix, dtype);
  for (const Doc& d : docs) writer.add_document(d);
  writer.finalize();
}

// "1,2;3" per document: sequences separated by ';', tokens by ','.
std::string doc_arg(const std::vector<Doc>& sequences) {
  std::string out;
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    if (s > 0) out += ';';
    for (std::size_t i = 0; i < sequences[s].size(); ++i)
      out += (i ? "," : "") + std::to_string(sequences[s][i]);
  }
  return out;
}

// Runs write_megatron_indexed.py; each document is a list of sequences. Fails the test if Python fails.
void write_python(const fs::path& prefix, const std::string& dtype,
                  const std::vector<std::vector<Doc>>& docs) {
  std::string command = "/usr/bin/python3 '" MTNLG_DATA_TEST_SOURCE_DIR "/write_megatron_indexed.py' '" +
                        prefix.string() + "' " + dtype;
  for (const auto& d : docs) command += " '" + doc_arg(d) + "'";
  command += " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr) << command;
  std::string output;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << command << "\n"
      << output << "\n(needs /usr/bin/python3 with numpy: tools/setup installs python3-numpy for the tests)";
}

// One sequence per document: what GPT data (and our writer) looks like.
std::vector<std::vector<Doc>> one_sequence_each(const std::vector<Doc>& docs) {
  std::vector<std::vector<Doc>> out;
  for (const Doc& d : docs) out.push_back({d});
  return out;
}

const std::vector<Doc> kU16Docs = {{1, 2, 3}, {}, {65535, 0, 50256, 7}, {42}};
const std::vector<Doc> kI32Docs = {{100000, 2147483647, -5}, {0}, {}, {50257, 1, 2, 3, 4, 5, 6, 7, 8, 9}};

void expect_contents(const IndexedDataset& ds, const std::vector<Doc>& docs) {
  ASSERT_EQ(ds.sequence_count(), docs.size());
  ASSERT_EQ(ds.document_count(), docs.size());
  std::vector<std::int64_t> doc_index;
  for (std::size_t i = 0; i <= docs.size(); ++i) doc_index.push_back(static_cast<std::int64_t>(i));
  EXPECT_EQ(std::vector<std::int64_t>(ds.document_indices().begin(), ds.document_indices().end()), doc_index);
  for (std::size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(ds.sequence_lengths()[i], static_cast<std::int32_t>(docs[i].size()));
    EXPECT_EQ(ds.tokens(i, 0, docs[i].size()), docs[i]) << "sequence " << i;
  }
}

// ---- round trips ----

TEST(IndexedDataset, RoundTripU16) {
  const fs::path prefix = work_dir() / "u16";
  write_cpp(prefix, DType::u16, kU16Docs);
  const IndexedDataset ds = IndexedDataset::open(prefix);
  EXPECT_EQ(ds.token_dtype(), DType::u16);
  expect_contents(ds, kU16Docs);
  EXPECT_EQ(ds.tokens(2, 1, 2), (Doc{0, 50256}));  // a slice in the middle of a sequence
  EXPECT_EQ(ds.tokens(2, 4, 0), Doc{});
  // 2 bytes a token, nothing else in the .bin.
  EXPECT_EQ(fs::file_size(with(prefix, ".bin")), 2u * 8);
}

TEST(IndexedDataset, RoundTripI32) {
  const fs::path prefix = work_dir() / "i32";
  write_cpp(prefix, DType::i32, kI32Docs);
  const IndexedDataset ds = IndexedDataset::open(prefix);
  EXPECT_EQ(ds.token_dtype(), DType::i32);
  expect_contents(ds, kI32Docs);
  EXPECT_EQ(ds.tokens(3, 5, 3), (Doc{5, 6, 7}));
  EXPECT_EQ(fs::file_size(with(prefix, ".bin")), 4u * 14);
}

TEST(IndexedDataset, EmptyDatasetRoundTrips) {
  const fs::path prefix = work_dir() / "empty";
  write_cpp(prefix, DType::u16, {});
  const IndexedDataset ds = IndexedDataset::open(prefix);
  EXPECT_EQ(ds.sequence_count(), 0u);
  EXPECT_EQ(ds.document_count(), 0u);
  EXPECT_EQ(ds.document_indices().size(), 1u);  // the leading 0
  EXPECT_EQ(fs::file_size(with(prefix, ".idx")), 34u + 8u);
}

TEST(IndexedDataset, MovedDatasetKeepsItsMapping) {
  const fs::path prefix = work_dir() / "move";
  write_cpp(prefix, DType::i32, kI32Docs);
  IndexedDataset a = IndexedDataset::open(prefix);
  IndexedDataset b = std::move(a);
  expect_contents(b, kI32Docs);
  IndexedDataset c = IndexedDataset::open(prefix);
  c = std::move(b);
  expect_contents(c, kI32Docs);
}

// ---- against Megatron's layout, written by Python ----

TEST(IndexedDataset, ByteForByteWithMegatronU16) {
  const fs::path dir = work_dir();
  write_python(dir / "py", "uint16", one_sequence_each(kU16Docs));
  write_cpp(dir / "cpp", DType::u16, kU16Docs);
  EXPECT_EQ(read_bytes(dir / "cpp.bin"), read_bytes(dir / "py.bin"));
  EXPECT_EQ(read_bytes(dir / "cpp.idx"), read_bytes(dir / "py.idx"));
  EXPECT_FALSE(read_bytes(dir / "py.idx").empty());
}

TEST(IndexedDataset, ByteForByteWithMegatronI32) {
  const fs::path dir = work_dir();
  write_python(dir / "py", "int32", one_sequence_each(kI32Docs));
  write_cpp(dir / "cpp", DType::i32, kI32Docs);
  EXPECT_EQ(read_bytes(dir / "cpp.bin"), read_bytes(dir / "py.bin"));
  EXPECT_EQ(read_bytes(dir / "cpp.idx"), read_bytes(dir / "py.idx"));
}

TEST(IndexedDataset, ByteForByteWithMegatronEmpty) {
  const fs::path dir = work_dir();
  write_python(dir / "py", "uint16", {});
  write_cpp(dir / "cpp", DType::u16, {});
  EXPECT_EQ(read_bytes(dir / "cpp.bin"), read_bytes(dir / "py.bin"));
  EXPECT_EQ(read_bytes(dir / "cpp.idx"), read_bytes(dir / "py.idx"));
}

TEST(IndexedDataset, ReadsMegatronWrittenFiles) {
  const fs::path prefix = work_dir() / "py";
  write_python(prefix, "uint16", one_sequence_each(kU16Docs));
  expect_contents(IndexedDataset::open(prefix), kU16Docs);
  write_python(prefix, "int32", one_sequence_each(kI32Docs));
  expect_contents(IndexedDataset::open(prefix), kI32Docs);
}

TEST(IndexedDataset, ReadsDocumentsOfSeveralSequences) {
  // Megatron's format lets a document hold several sequences (e.g. sentences); document_indices says which.
  const fs::path prefix = work_dir() / "py";
  write_python(prefix, "int32", {{{1, 2}, {3}}, {{4, 5, 6}}, {{7}, {}, {8, 9}}});
  const IndexedDataset ds = IndexedDataset::open(prefix);
  EXPECT_EQ(ds.sequence_count(), 6u);
  EXPECT_EQ(ds.document_count(), 3u);
  EXPECT_EQ(std::vector<std::int64_t>(ds.document_indices().begin(), ds.document_indices().end()),
            (std::vector<std::int64_t>{0, 2, 3, 6}));
  EXPECT_EQ(std::vector<std::int32_t>(ds.sequence_lengths().begin(), ds.sequence_lengths().end()),
            (std::vector<std::int32_t>{2, 1, 3, 1, 0, 2}));
  EXPECT_EQ(ds.tokens(5, 0, 2), (Doc{8, 9}));
  EXPECT_EQ(ds.tokens(2, 1, 2), (Doc{5, 6}));
}

// ---- bad files ----

// A valid u16 dataset to damage: 4 sequences (S = 4, D = 5), .idx = 34 + 16 + 32 + 40 = 122 bytes.
fs::path damaged_fixture() {
  const fs::path prefix = work_dir() / "bad";
  write_cpp(prefix, DType::u16, kU16Docs);
  return prefix;
}

auto opening(const fs::path& prefix) {
  return [prefix] { IndexedDataset::open(prefix); };
}

TEST(IndexedDatasetErrors, MissingIdx) {
  const fs::path prefix = damaged_fixture();
  fs::remove(with(prefix, ".idx"));
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(AllOf(HasSubstr(with(prefix, ".idx").string() + " does not exist"),
                                         HasSubstr("PREFIX.bin + PREFIX.idx"))));
}

TEST(IndexedDatasetErrors, MissingBin) {
  const fs::path prefix = damaged_fixture();
  fs::remove(with(prefix, ".bin"));
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(HasSubstr(with(prefix, ".bin").string() + " does not exist")));
}

TEST(IndexedDatasetErrors, MissingPrefix) {
  const fs::path prefix = work_dir() / "nothing-here";
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(AllOf(HasSubstr("cannot open indexed dataset " + prefix.string()),
                                         HasSubstr(with(prefix, ".idx").string() + " does not exist"))));
}

TEST(IndexedDatasetErrors, BadMagic) {
  const fs::path prefix = damaged_fixture();
  std::string idx = read_bytes(with(prefix, ".idx"));
  idx.replace(0, 7, "TNTIDX_");
  write_bytes(with(prefix, ".idx"), idx);
  EXPECT_THAT(opening(prefix), ThrowsMessage<Error>(AllOf(HasSubstr(with(prefix, ".idx").string()),
                                                          HasSubstr("bad magic \"TNTIDX_\\x00\\x00\""),
                                                          HasSubstr("starts with \"MMIDIDX\\x00\\x00\""))));
}

TEST(IndexedDatasetErrors, NotAnIndexAtAll) {
  const fs::path prefix = damaged_fixture();
  write_bytes(with(prefix, ".idx"), "hi");
  EXPECT_THAT(opening(prefix), ThrowsMessage<Error>(HasSubstr("bad magic \"hi\"")));
}

TEST(IndexedDatasetErrors, WrongVersion) {
  const fs::path prefix = damaged_fixture();
  std::string idx = read_bytes(with(prefix, ".idx"));
  idx[9] = 2;  // version, little-endian u64 at byte 9
  write_bytes(with(prefix, ".idx"), idx);
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(AllOf(HasSubstr(with(prefix, ".idx").string()),
                                         HasSubstr("unsupported version 2; only version 1"))));
}

TEST(IndexedDatasetErrors, UnsupportedDtype) {
  const fs::path prefix = work_dir() / "i64";
  write_python(prefix, "int64", {{{1, 2, 3}}});
  EXPECT_THAT(opening(prefix), ThrowsMessage<Error>(AllOf(HasSubstr(with(prefix, ".idx").string()),
                                                          HasSubstr("unsupported dtype code 5 (int64)"),
                                                          HasSubstr("uint16 (code 8) or int32 (code 4)"))));
  const fs::path bad = damaged_fixture();
  std::string idx = read_bytes(with(bad, ".idx"));
  idx[17] = 42;
  write_bytes(with(bad, ".idx"), idx);
  EXPECT_THAT(opening(bad),
              ThrowsMessage<Error>(HasSubstr("unsupported dtype code 42 (not a Megatron dtype)")));
}

TEST(IndexedDatasetErrors, TruncatedHeader) {
  const fs::path prefix = damaged_fixture();
  write_bytes(with(prefix, ".idx"), read_bytes(with(prefix, ".idx")).substr(0, 20));
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(AllOf(HasSubstr(with(prefix, ".idx").string()),
                                         HasSubstr("truncated .idx: 20 bytes, but the header alone "
                                                   "is 34 bytes"))));
}

TEST(IndexedDatasetErrors, TruncatedArrays) {
  const fs::path prefix = damaged_fixture();
  const std::string idx = read_bytes(with(prefix, ".idx"));
  ASSERT_EQ(idx.size(), 122u);
  write_bytes(with(prefix, ".idx"), idx.substr(0, idx.size() - 8));
  EXPECT_THAT(opening(prefix), ThrowsMessage<Error>(AllOf(
                                   HasSubstr(with(prefix, ".idx").string()),
                                   HasSubstr("truncated .idx: the header declares 4 sequences and 5 document "
                                             "indices, more than the file's 114 bytes hold"))));
}

TEST(IndexedDatasetErrors, HugeCountsDoNotOverflow) {
  const fs::path prefix = damaged_fixture();
  std::string idx = read_bytes(with(prefix, ".idx"));
  for (int i = 18; i < 26; ++i) idx[i] = '\xff';  // S = 2^64 − 1
  write_bytes(with(prefix, ".idx"), idx);
  EXPECT_THAT(opening(prefix), ThrowsMessage<Error>(HasSubstr("truncated .idx: the header declares "
                                                              "18446744073709551615 sequences")));
}

TEST(IndexedDatasetErrors, TrailingBytes) {
  const fs::path prefix = damaged_fixture();
  write_bytes(with(prefix, ".idx"), read_bytes(with(prefix, ".idx")) + "xyz");
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(HasSubstr("3 unexpected bytes after the document indices")));
}

TEST(IndexedDatasetErrors, BinShorterThanTheIndexSays) {
  const fs::path prefix = damaged_fixture();
  const std::string bin =
      read_bytes(with(prefix, ".bin"));  // 8 tokens, 16 bytes; the last sequence is [14, 16)
  write_bytes(with(prefix, ".bin"), bin.substr(0, bin.size() - 1));
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(
                  AllOf(HasSubstr(with(prefix, ".bin").string() + " is shorter than " +
                                  with(prefix, ".idx").string() + " says"),
                        HasSubstr("sequence 3 (1 tokens) spans bytes [14, 16) but the file has 15 bytes"))));
}

TEST(IndexedDatasetErrors, InconsistentDocumentIndices) {
  const fs::path prefix = damaged_fixture();
  const std::string good = read_bytes(with(prefix, ".idx"));
  const std::size_t doc_at = 34 + 12 * 4;  // the int64 document indices 0, 1, 2, 3, 4
  const auto with_doc = [&](int entry, char value) {
    std::string idx = good;
    idx[doc_at + 8 * entry] = value;
    write_bytes(with(prefix, ".idx"), idx);
  };
  with_doc(4, 3);  // last = 3, but S = 4
  EXPECT_THAT(opening(prefix), ThrowsMessage<Error>(AllOf(
                                   HasSubstr(with(prefix, ".idx").string()),
                                   HasSubstr("inconsistent document indices: the last is 3 but there are 4 "
                                             "sequences"))));
  with_doc(0, 1);
  EXPECT_THAT(opening(prefix),
              ThrowsMessage<Error>(HasSubstr("inconsistent document indices: the first is 1, not 0")));
  with_doc(2, 0);
  EXPECT_THAT(
      opening(prefix),
      ThrowsMessage<Error>(HasSubstr("inconsistent document indices: entry 2 (0) is below entry 1 (1)")));
}

TEST(IndexedDatasetErrors, TokensOutOfRange) {
  const fs::path prefix = damaged_fixture();
  const IndexedDataset ds = IndexedDataset::open(prefix);
  EXPECT_THAT([&] { ds.tokens(0, 2, 3); },
              ThrowsMessage<Error>(
                  AllOf(HasSubstr(prefix.string()), HasSubstr("sequence 0 has 3 tokens; asked for [2, 5)"))));
  EXPECT_THAT([&] { ds.tokens(4, 0, 0); },
              ThrowsMessage<Error>(HasSubstr("sequence 4 does not exist; the dataset has 4")));
}

// ---- the writer ----

TEST(IndexedDatasetWriter, LeavesNothingWithoutFinalize) {
  const fs::path dir = work_dir();
  {
    IndexedDatasetWriter writer(dir / "partial", DType::u16);
    writer.add_document(kU16Docs[0]);
    EXPECT_TRUE(fs::exists(dir / "partial.bin.tmp"));  // data goes to the temporary, never to partial.bin
    EXPECT_FALSE(fs::exists(dir / "partial.bin"));
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(IndexedDatasetWriter, FailedWriteLeavesNothing) {
  const fs::path dir = work_dir();
  {
    IndexedDatasetWriter writer(dir / "x", DType::u16);
    writer.add_document(kU16Docs[0]);
    EXPECT_THAT(
        [&] {
          writer.add_document(Doc{5, 65536});
        },
        ThrowsMessage<Error>(AllOf(HasSubstr("token 65536 at position 1 of document 1 does not fit uint16"),
                                   HasSubstr("write the dataset as i32"))));
    EXPECT_THAT([&] { writer.add_document(Doc{-1}); },
                ThrowsMessage<Error>(HasSubstr("token -1 at position 0")));
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(IndexedDatasetWriter, FinalizeReplacesAnOldDataset) {
  const fs::path prefix = work_dir() / "x";
  write_cpp(prefix, DType::i32, kI32Docs);
  write_cpp(prefix, DType::u16, kU16Docs);
  expect_contents(IndexedDataset::open(prefix), kU16Docs);
  EXPECT_FALSE(fs::exists(with(prefix, ".bin.tmp")));
  EXPECT_FALSE(fs::exists(with(prefix, ".idx.tmp")));
}

TEST(IndexedDatasetWriter, PrefixWithADotKeepsIt) {
  const fs::path prefix = work_dir() / "web.v2";
  write_cpp(prefix, DType::u16, kU16Docs);
  EXPECT_TRUE(fs::exists(with(prefix, ".bin")));
  EXPECT_TRUE(fs::exists(with(prefix, ".idx")));
}

TEST(IndexedDatasetWriter, Errors) {
  const fs::path dir = work_dir();
  EXPECT_THAT([&] { IndexedDatasetWriter w(dir / "f", DType::f32); },
              ThrowsMessage<Error>(HasSubstr("tokens are written as u16 or i32, not f32")));
  EXPECT_THAT(
      [&] { IndexedDatasetWriter w(dir / "no-such-dir" / "x", DType::u16); },
      ThrowsMessage<Error>(AllOf(HasSubstr("cannot create " + (dir / "no-such-dir" / "x.bin.tmp").string()),
                                 HasSubstr("No such file or directory"))));
  IndexedDatasetWriter w(dir / "twice", DType::u16);
  w.finalize();
  EXPECT_THAT([&] { w.finalize(); }, ThrowsMessage<Error>(HasSubstr("finalize twice")));
  EXPECT_THAT([&] { w.add_document(Doc{1}); },
              ThrowsMessage<Error>(HasSubstr("add_document after finalize")));
}

}  // namespace
}  // namespace mtnlg::data
