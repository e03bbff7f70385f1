// CheckpointReader against pieces written by ShardWriter: a (4, 6) tensor saved split in two along dimension
// 0 (ZeRO-style, the second slice in two element ranges) reads back whole, as four slices, and in ranges; and
// a damaged checkpoint (missing shard, truncated or corrupt file, unknown format, a hole) gives a clear
// error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <vector>

#include "checkpoint/checkpoint_reader.hpp"
#include "checkpoint/durable_file.hpp"
#include "checkpoint/shard_writer.hpp"
#include "mtnlg/error.hpp"

namespace mtnlg::host {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const Shape kShape{4, 6};

// Global tensor value at (r, c): r·6 + c, so every element says where it came from.
std::vector<double> global_values() {
  std::vector<double> v(24);
  std::iota(v.begin(), v.end(), 0.0);
  return v;
}

// Rows [part·rows, (part+1)·rows) of the global tensor: the slice of a split along dimension 0.
std::vector<double> row_slice(int part, int parts) {
  const std::vector<double> g = global_values();
  const int rows = 4 / parts;
  return {g.begin() + part * rows * 6, g.begin() + (part + 1) * rows * 6};
}

ShardEntry piece(const char* kind, int part, int parts, std::int64_t begin, std::int64_t end) {
  ShardEntry e;
  e.name = "3.weight";
  e.kind = kind;
  e.dtype = DType::f64;
  e.shape = kShape;
  e.tp_dim = 0;
  e.tp_part = part;
  e.tp_parts = parts;
  e.begin = begin;
  e.end = end;
  return e;
}

class CheckpointReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mtnlg-ckpt-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Rank 0 holds slice 0 of 2 whole; rank 1 holds slice 1 in two pieces, as two ZeRO-1 shards would.
    const std::vector<double> s0 = row_slice(0, 2), s1 = row_slice(1, 2);
    ShardWriter r0(dir_, "rank-00000");
    r0.add(piece("param", 0, 2, 0, 12), s0.data());
    r0.finish();
    ShardWriter r1(dir_, "rank-00001");
    r1.add(piece("param", 1, 2, 0, 5), s1.data());
    r1.add(piece("param", 1, 2, 5, 12), s1.data() + 5);
    r1.finish();
    write_manifest(kShardedCheckpointFormat);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_manifest(const std::string& format) {
    write_durably(dir_ / "manifest.toml", "format = \"" + format +
                                              "\"\nstep = 3\nconsumed_samples = 24\nconsumed_tokens = 384\n"
                                              "shards = [\"rank-00000\", \"rank-00001\"]\n");
  }

  std::vector<double> read(int part, int parts, std::int64_t begin, std::int64_t end) const {
    std::vector<double> out(static_cast<std::size_t>(end - begin));
    CheckpointReader(dir_).read("3.weight", "param", {DType::f64, kShape, 0, part, parts, begin, end},
                                out.data());
    return out;
  }

  std::string error_of_opening() const {
    try {
      CheckpointReader reader(dir_);
      std::vector<double> out(12);
      reader.read("3.weight", "param", {DType::f64, kShape, 0, 1, 2, 0, 12}, out.data());
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
};

TEST_F(CheckpointReaderTest, SameSplitReadsBackItsPieces) {
  EXPECT_EQ(read(0, 2, 0, 12), row_slice(0, 2));
  EXPECT_EQ(read(1, 2, 0, 12), row_slice(1, 2));
  // A range across the two pieces of slice 1 (another data-parallel size's ZeRO-1 shard).
  const std::vector<double> s1 = row_slice(1, 2);
  EXPECT_EQ(read(1, 2, 3, 9), std::vector<double>(s1.begin() + 3, s1.begin() + 9));
}

TEST_F(CheckpointReaderTest, OtherTensorParallelSizesGetTheirSlices) {
  EXPECT_EQ(read(0, 1, 0, 24), global_values());
  for (int part = 0; part < 4; ++part) EXPECT_EQ(read(part, 4, 0, 6), row_slice(part, 4)) << "part " << part;
  const std::vector<double> s2 = row_slice(2, 4);
  EXPECT_EQ(read(2, 4, 1, 4), std::vector<double>(s2.begin() + 1, s2.begin() + 4));
}

TEST_F(CheckpointReaderTest, KindsListTheParameterFirst) {
  ShardWriter extra(dir_, "rank-00002");
  const std::vector<double> zeros(24, 0.0);
  extra.add(piece("adamw.exp_avg", 0, 1, 0, 24), zeros.data());
  extra.finish();
  write_durably(dir_ / "manifest.toml",
                "format = \"" + std::string(kShardedCheckpointFormat) +
                    "\"\nshards = [\"rank-00000\", \"rank-00001\", \"rank-00002\"]\n");
  const CheckpointReader reader(dir_);
  EXPECT_THAT(reader.kinds_of("3.weight"), ::testing::ElementsAre("param", "adamw.exp_avg"));
  EXPECT_TRUE(reader.has("3.weight", "adamw.exp_avg"));
  EXPECT_FALSE(reader.has("3.bias", "param"));
}

TEST_F(CheckpointReaderTest, MissingShardIsNamed) {
  fs::remove(dir_ / "rank-00001.bin");
  EXPECT_THAT(error_of_opening(), HasSubstr("shard rank-00001 is missing (rank-00001.bin); the checkpoint is "
                                            "incomplete"));
}

TEST_F(CheckpointReaderTest, TruncatedShardIsNamed) {
  fs::resize_file(dir_ / "rank-00001.bin", 40);
  EXPECT_THAT(error_of_opening(),
              HasSubstr("rank-00001.bin has 40 bytes, its index 96: the file is truncated"));
}

TEST_F(CheckpointReaderTest, CorruptPieceFailsItsChecksum) {
  {
    std::fstream f(dir_ / "rank-00001.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(50);
    f.put('\x7f');
  }
  EXPECT_THAT(
      error_of_opening(),
      HasSubstr(
          "3.weight (param, tp slice 1/2, elements [5, 12)) fails its CRC-32 check: the file is corrupt"));
}

TEST_F(CheckpointReaderTest, UnknownFormatIsRefused) {
  write_manifest("mtnlg-sharded-checkpoint-99");
  EXPECT_THAT(error_of_opening(), HasSubstr("unknown checkpoint format \"mtnlg-sharded-checkpoint-99\""));
}

TEST_F(CheckpointReaderTest, NoManifestMeansAnUnfinishedSave) {
  fs::remove(dir_ / "manifest.toml");
  EXPECT_THAT(error_of_opening(), HasSubstr("is not a complete checkpoint: no manifest.toml"));
}

TEST_F(CheckpointReaderTest, HoleInAShardedTensorIsNamed) {
  // Rank 1's index lists only its first piece (and its file is cut to match): elements [5, 12) of slice 1 are
  // held by no shard.
  const std::vector<double> s1 = row_slice(1, 2);
  ShardWriter r1(dir_, "rank-00001");
  r1.add(piece("param", 1, 2, 0, 5), s1.data());
  r1.finish();
  EXPECT_THAT(error_of_opening(),
              HasSubstr("no shard holds elements [5, 12) of 3.weight (param, slice 1/2)"));
}

TEST_F(CheckpointReaderTest, DifferentModelIsRefused) {
  std::vector<double> out(12);
  try {
    CheckpointReader(dir_).read("3.weight", "param", {DType::f64, {4, 8}, 0, 0, 2, 0, 16}, out.data());
    FAIL() << "read a (4, 6) tensor as (4, 8)";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("3.weight (param) is f64 (4, 6) split along dimension 0; the model wants f64 "
                          "(4, 8) split along dimension 0"));
  }
  try {
    CheckpointReader(dir_).read("3.weight", "adamw.exp_avg", {DType::f64, kShape, 0, 0, 2, 0, 12},
                                out.data());
    FAIL() << "read a kind the checkpoint does not hold";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("has no 3.weight adamw.exp_avg: it was saved from a different model or optimizer"));
  }
}

}  // namespace
}  // namespace mtnlg::host
