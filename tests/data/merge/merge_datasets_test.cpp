// merge_datasets: documents in input order and the errors a CLI run cannot easily provoke (an int32 dataset
// next to a uint16 one: mtnlg-data tokenize writes GPT-2's uint16 only).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "indexed_dataset.hpp"
#include "merge_datasets.hpp"
#include "mtnlg/error.hpp"

namespace mtnlg::data {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using Doc = std::vector<std::int32_t>;

fs::path work_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(MTNLG_MERGE_TEST_WORK_DIR) / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& prefix, DType dtype, const std::vector<Doc>& docs) {
  IndexedDatasetWriter writer(prefix, dtype);
  for (const Doc& d : docs) writer.add_document(d);
  writer.finalize();
}

TEST(MergeDatasets, ConcatenatesInInputOrderAndCounts) {
  const fs::path dir = work_dir();
  write(dir / "a", DType::i32, {{1, 2, 3}, {}});
  write(dir / "b", DType::i32, {{100000}});
  const MergeReport r = merge_datasets({dir / "b", dir / "a"}, dir / "out");
  EXPECT_EQ(r.documents, 3u);
  EXPECT_EQ(r.tokens, 4u);
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[0].documents, 1u);
  EXPECT_EQ(r.inputs[1].tokens, 3u);
  const IndexedDataset out = IndexedDataset::open(dir / "out");
  EXPECT_EQ(out.token_dtype(), DType::i32);
  ASSERT_EQ(out.document_count(), 3u);
  EXPECT_EQ(out.tokens(0, 0, 1), Doc{100000});
  EXPECT_EQ(out.tokens(1, 0, 3), (Doc{1, 2, 3}));
  EXPECT_EQ(out.sequence_lengths()[2], 0);
}

TEST(MergeDatasets, RefusesMixedDtypesNamingBothFilesAndWritesNothing) {
  const fs::path dir = work_dir();
  write(dir / "small", DType::u16, {{1, 2}});
  write(dir / "wide", DType::i32, {{3}});
  EXPECT_THAT(
      [&] {
        merge_datasets({dir / "small", dir / "wide"}, dir / "out");
      },
      ThrowsMessage<Error>(AllOf(HasSubstr((dir / "small").string() + ".idx holds uint16 tokens"),
                                 HasSubstr((dir / "wide").string() + ".idx holds int32 tokens"))));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 4);  // the inputs only
}

TEST(MergeDatasets, NeedsAnInput) {
  EXPECT_THAT([] { merge_datasets({}, "/tmp/x"); }, ThrowsMessage<Error>(HasSubstr("at least one --input")));
}

}  // namespace
}  // namespace mtnlg::data
