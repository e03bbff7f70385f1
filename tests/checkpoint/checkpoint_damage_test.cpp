// The sharded checkpoint's error paths that checkpoint_reader_test.cpp does not reach: a shard index whose
// offsets do not match its .bin file, an index that is missing or names an unknown dtype or an out-of-range
// piece, pieces of one tensor that disagree (tensor-parallel size, dtype), a file cut after opening, a tensor
// the checkpoint does not hold, a tensor-parallel size that does not divide, `latest` in a run that saved
// nothing, and the durable-file errors (no such directory, a full disk, a rename over a directory). Each test
// checks the message a user would see.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <sstream>
#include <vector>

#include "checkpoint/checkpoint_reader.hpp"
#include "checkpoint/durable_file.hpp"
#include "checkpoint/shard_writer.hpp"
#include "checkpoint/training_checkpoint.hpp"
#include "mtnlg/error.hpp"

namespace mtnlg::host {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const Shape kShape{4, 6};

// Rows [part·rows, (part+1)·rows) of the (4, 6) tensor whose element (r, c) is r·6 + c.
std::vector<double> row_slice(int part, int parts) {
  std::vector<double> g(24);
  std::iota(g.begin(), g.end(), 0.0);
  const int rows = 4 / parts;
  return {g.begin() + part * rows * 6, g.begin() + (part + 1) * rows * 6};
}

ShardEntry piece(int part, int parts, std::int64_t begin, std::int64_t end, DType dtype = DType::f64) {
  ShardEntry e;
  e.name = "3.weight";
  e.kind = kParameterKind;
  e.dtype = dtype;
  e.shape = kShape;
  e.tp_dim = 0;
  e.tp_part = part;
  e.tp_parts = parts;
  e.begin = begin;
  e.end = end;
  return e;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A checkpoint of the (4, 6) tensor split in two along dimension 0: rank 0 holds slice 0 in one piece, rank 1
// holds slice 1 in two (elements [0, 5) and [5, 12)), as checkpoint_reader_test.cpp writes it.
class CheckpointDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("mtnlg-ckpt-damage-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::vector<double> s0 = row_slice(0, 2), s1 = row_slice(1, 2);
    ShardWriter r0(dir_, "rank-00000");
    r0.add(piece(0, 2, 0, 12), s0.data());
    r0.finish();
    ShardWriter r1(dir_, "rank-00001");
    r1.add(piece(1, 2, 0, 5), s1.data());
    r1.add(piece(1, 2, 5, 12), s1.data() + 5);
    r1.finish();
    write_manifest({"rank-00000", "rank-00001"});
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_manifest(const std::vector<std::string>& shards) {
    std::string list;
    for (const std::string& s : shards) list += (list.empty() ? "\"" : ", \"") + s + "\"";
    write_durably(dir_ / "manifest.toml",
                  "format = \"" + std::string(kShardedCheckpointFormat) + "\"\nshards = [" + list + "]\n");
  }

  // Rewrites RANK.json with `edit` applied to its parsed entries (the .bin file stays as it is).
  template <class Edit>
  void edit_index(const std::string& shard, Edit edit) {
    const fs::path index = dir_ / (shard + ".json");
    std::vector<ShardEntry> entries = parse_shard_index(read_text(index), index.string());
    edit(entries);
    write_durably(index, shard_index_json(entries));
  }

  // The error opening the checkpoint and reading slice `part` of `parts` whole, or "no error".
  std::string error_of_reading(int part = 1, int parts = 2, const std::string& name = "3.weight") const {
    try {
      const CheckpointReader reader(dir_);
      std::vector<double> out(static_cast<std::size_t>(24 / parts));
      reader.read(name, kParameterKind, {DType::f64, kShape, 0, part, parts, 0, 24 / parts}, out.data());
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
};

TEST_F(CheckpointDamageTest, IndexOffsetThatDoesNotMatchTheDataFileIsNamed) {
  // The second piece of rank 1 claims to start 8 bytes later than the first one ends (40 bytes of 5 f64).
  edit_index("rank-00001", [](std::vector<ShardEntry>& entries) { entries[1].offset += 8; });
  EXPECT_THAT(error_of_reading(),
              HasSubstr("rank-00001.json: 3.weight (param, tp slice 1/2, elements [5, 12)) "
                        "starts at byte 48, expected 40; the checkpoint is damaged"));
}

TEST_F(CheckpointDamageTest, MissingIndexIsNamed) {
  fs::remove(dir_ / "rank-00000.json");
  EXPECT_THAT(error_of_reading(),
              HasSubstr("shard rank-00000 is missing (rank-00000.json); the checkpoint is incomplete"));
}

TEST_F(CheckpointDamageTest, IndexWithAnUnknownDtypeIsRefused) {
  const fs::path index = dir_ / "rank-00000.json";
  std::string text = read_text(index);
  text.replace(text.find("\"f64\""), 5, "\"f8\"");
  write_durably(index, text);
  EXPECT_THAT(error_of_reading(),
              HasSubstr("rank-00000.json: unknown dtype \"f8\"; the checkpoint is damaged"));
}

TEST_F(CheckpointDamageTest, IndexWithAPieceOutOfRangeIsRefused) {
  // Slice 0 of 2 of a (4, 6) tensor has 12 elements; the index claims 13.
  edit_index("rank-00000", [](std::vector<ShardEntry>& entries) { entries[0].end = 13; });
  EXPECT_THAT(
      error_of_reading(),
      HasSubstr("rank-00000.json: entry 0 (3.weight (param, tp slice 0/2, elements [0, 13))) is out of "
                "range for (4, 6); the checkpoint is damaged"));
}

TEST_F(CheckpointDamageTest, PiecesWithMixedTensorParallelSizesAreRefused) {
  // A third shard holds slice 0 of 4 of the same tensor: two layouts' pieces in one checkpoint.
  const std::vector<double> q0 = row_slice(0, 4);
  ShardWriter r2(dir_, "rank-00002");
  r2.add(piece(0, 4, 0, 6), q0.data());
  r2.finish();
  write_manifest({"rank-00000", "rank-00001", "rank-00002"});
  const std::string want =
      "3.weight (param) was saved with mixed tensor-parallel sizes: 2 in rank-00000.json, 4 in "
      "rank-00002.json; the checkpoint is damaged";
  // Whichever layout reads it: one that matches neither (whole), and one that matches one of them.
  EXPECT_THAT(error_of_reading(0, 1), HasSubstr(want));
  EXPECT_THAT(error_of_reading(1, 2), HasSubstr(want));
}

TEST_F(CheckpointDamageTest, PiecesOfOneTensorWithDifferentDtypesAreRefused) {
  // Rank 1 writes slice 1 as f32: its pieces are half the size the reader would copy out of them as f64.
  const fs::path bin = dir_ / "rank-00001.bin", index = dir_ / "rank-00001.json";
  fs::remove(bin);
  fs::remove(index);
  const std::vector<double> s1 = row_slice(1, 2);
  const std::vector<float> f1(s1.begin(), s1.end());
  ShardWriter r1(dir_, "rank-00001");
  r1.add(piece(1, 2, 0, 12, DType::f32), f1.data());
  r1.finish();
  EXPECT_THAT(error_of_reading(),
              HasSubstr("3.weight (param) is f64 (4, 6) split along dimension 0 in rank-00000.json but f32 "
                        "(4, 6) split along dimension 0 in rank-00001.json; the checkpoint is damaged"));
}

TEST_F(CheckpointDamageTest, FileCutAfterOpeningIsNamed) {
  const CheckpointReader reader(dir_);  // whole when opened
  fs::resize_file(dir_ / "rank-00001.bin", 60);
  std::vector<double> out(12);
  try {
    reader.read("3.weight", kParameterKind, {DType::f64, kShape, 0, 1, 2, 0, 12}, out.data());
    FAIL() << "read a piece past the end of its file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("rank-00001.bin: cannot read 3.weight (param, tp slice 1/2, elements [5, 12))"));
  }
}

TEST_F(CheckpointDamageTest, ParameterTheCheckpointDoesNotHoldIsNamed) {
  EXPECT_THAT(error_of_reading(0, 2, "3.bias"),
              HasSubstr("has no parameter 3.bias: it was saved from a different model or optimizer"));
}

TEST_F(CheckpointDamageTest, TensorParallelSizeThatDoesNotDivideIsNamed) {
  std::vector<double> out(8);
  try {
    CheckpointReader(dir_).read("3.weight", kParameterKind, {DType::f64, kShape, 0, 0, 3, 0, 8}, out.data());
    FAIL() << "split 4 rows three ways";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("3.weight (4, 6): dimension 0 does not divide by the tensor-parallel size 3"));
  }
}

TEST(LatestCheckpointTest, RunThatSavedNothingIsExplained) {
  const fs::path root = fs::temp_directory_path() / "mtnlg-ckpt-damage-empty-run";
  fs::remove_all(root);
  fs::create_directories(root);
  try {
    latest_checkpoint(root);
    FAIL() << "found a checkpoint in an empty directory";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("no checkpoint to resume from: " + (root / "latest").string() +
                          " does not exist and " + root.string() +
                          " holds no step-N directory (the run saved none: set train.save_interval, "
                          "or let it reach its end)"));
  }
  fs::remove_all(root);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(DurableFileTest, ErrorsNameTheFileAndTheReason) {
  EXPECT_THAT(error_of([] { DurableFile f("/no/such/dir/rank-00000.bin"); }),
              HasSubstr("cannot create /no/such/dir/rank-00000.bin: No such file or directory"));
  if (fs::exists("/dev/full")) {  // a device that is always full: every write fails with ENOSPC
    EXPECT_THAT(error_of([] {
                  DurableFile f("/dev/full");
                  const char bytes[16] = {};
                  f.write(bytes, sizeof bytes);
                }),
                HasSubstr("writing /dev/full failed: No space left on device (disk full or not writable?)"));
  }
  EXPECT_THAT(error_of([] { sync_directory("/no/such/dir"); }),
              HasSubstr("cannot open directory /no/such/dir: No such file or directory"));
  // `latest` cannot be replaced while it is a directory that holds something.
  const fs::path root = fs::temp_directory_path() / "mtnlg-ckpt-damage-rename";
  fs::remove_all(root);
  fs::create_directories(root / "latest" / "something");
  EXPECT_THAT(
      error_of([&] { replace_file_atomically(root / "latest", "step-0000001\n"); }),
      HasSubstr("cannot rename " + (root / "latest.tmp").string() + " to " + (root / "latest").string()));
  fs::remove_all(root);
}

}  // namespace
}  // namespace mtnlg::host
