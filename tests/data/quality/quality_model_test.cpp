// The model file: what save() writes reads back as the same model, the same model gives the same bytes, and
// every kind of bad file is refused with a message that names it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mtnlg/error.hpp"
#include "quality_model.hpp"

namespace mtnlg::data::quality {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

fs::path work_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(MTNLG_QUALITY_TEST_WORK_DIR) / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

QualityModel small_model() {
  QualityModel m;
  m.feature_count = 16;
  m.bias = -0.25;
  m.weights.assign(16, 0.0);
  m.weights[3] = 0.1;
  m.weights[15] = -2.5e-7;
  return m;
}

TEST(QualityModel, RoundTripsAndWritesTheSameBytes) {
  const fs::path dir = work_dir();
  const QualityModel m = small_model();
  m.save(dir / "a.json");
  m.save(dir / "b.json");
  EXPECT_EQ(read_bytes(dir / "a.json"), read_bytes(dir / "b.json"));
  EXPECT_FALSE(fs::exists(dir / "a.json.tmp"));
  const QualityModel back = QualityModel::load(dir / "a.json");
  EXPECT_EQ(back.feature_count, 16u);
  EXPECT_EQ(back.bias, m.bias);
  EXPECT_EQ(back.weights, m.weights);
  // Sparse: only the two non-zero weights are listed, one per line after the header.
  const std::string text = read_bytes(dir / "a.json");
  EXPECT_THAT(text, HasSubstr("\n[3,0.1],\n[15,-2.5e-07]\n]}"));
  EXPECT_THAT(text, HasSubstr("{\"format\":\"mtnlg-quality-classifier\",\"version\":1,"));
}

TEST(QualityModel, ScoresEmptyDocumentsAsTheBias) {
  const QualityModel m = small_model();
  EXPECT_DOUBLE_EQ(m.score(""), sigmoid(-0.25));
  EXPECT_DOUBLE_EQ(sigmoid(-1000), 0.0);
  EXPECT_DOUBLE_EQ(sigmoid(1000), 1.0);
}

void expect_refused(const std::string& name, const std::string& contents, const std::string& message) {
  const fs::path file = work_dir() / name;
  std::ofstream(file) << contents;
  EXPECT_THAT([&] { QualityModel::load(file); },
              ThrowsMessage<Error>(AllOf(HasSubstr(file.string()), HasSubstr(message))))
      << contents;
}

TEST(QualityModel, RefusesBadFiles) {
  const std::string head =
      R"({"format":"mtnlg-quality-classifier","version":1,"features":{"count":16,"hash":"fnv1a64+splitmix64",)"
      R"("ngrams":[1,2],"lowercase":true,"words":"ascii-alnum-and-non-ascii-bytes","values":"l2-normalised-counts"},)";
  expect_refused("ok_but_missing_weights.json", head + R"("bias":0})", "no \"weights\" array");
  expect_refused("not_json.json", "{\"format\": ", "not a quality model (not JSON");
  expect_refused("other_json.json", "[1, 2]", "not a quality model");
  expect_refused("version2.json", R"({"format":"mtnlg-quality-classifier","version":2})",
                 "unsupported model version 2; this mtnlg-data reads version 1");
  expect_refused("no_version.json", R"({"format":"mtnlg-quality-classifier"})",
                 "unsupported model version (none)");
  expect_refused("zero_count.json",
                 R"({"format":"mtnlg-quality-classifier","version":1,"features":{"count":0}})",
                 "\"count\" must be a positive 32-bit integer");
  std::string other_hash = head;
  other_hash.replace(other_hash.find("fnv1a64"), 7, "murmur3");
  expect_refused("other_hash.json", other_hash + R"("bias":0,"weights":[]})", "feature extraction");
  expect_refused("bad_bias.json", head + R"("bias":"x","weights":[]})", "\"bias\" is not a finite number");
  expect_refused("index_out_of_range.json", head + R"("bias":0,"weights":[[16,1.0]]})",
                 "weight 0 is [16,1.0], not [index below 16, finite number]");
  expect_refused("bad_weight.json", head + R"("bias":0,"weights":[[1,0.5],[2,null]]})",
                 "weight 1 is [2,null]");
  EXPECT_NO_THROW(QualityModel::load([&] {
    const fs::path f = work_dir() / "good.json";
    std::ofstream(f) << head + R"("bias":0.5,"weights":[[1,0.5]]})";
    return f;
  }()));
  EXPECT_THAT([] { QualityModel::load("/no/such/model.json"); },
              ThrowsMessage<Error>(HasSubstr("cannot read model /no/such/model.json")));
}

}  // namespace
}  // namespace mtnlg::data::quality
