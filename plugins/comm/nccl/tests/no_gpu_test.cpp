// Without a usable CUDA device (run with CUDA_VISIBLE_DEVICES=-1, so also on a GPU machine) the nccl
// communicator says why: `available` gives the reason, creating it is a clear error and touches neither MPI
// nor NCCL, and the plugin, loaded as the host loads it, reports itself unavailable with the same reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <string>

#include "mtnlg/config.hpp"
#include "mtnlg/error.hpp"
#include "nccl_communicator.hpp"
#include "plugin_host/registry.hpp"

using ::testing::HasSubstr;

namespace mtnlg::comm {
namespace {

TEST(CommNcclWithoutGpu, AvailableSaysWhy) {
  std::string why;
  EXPECT_FALSE(NcclCommunicator::available(why));
  EXPECT_THAT(why, HasSubstr("no usable CUDA device"));
}

TEST(CommNcclWithoutGpu, CreatingItIsAClearErrorBeforeAnyMpi) {
  const Table params, recipe;
  try {
    NcclCommunicator communicator(CreateArgs{params, recipe});
    ADD_FAILURE() << "created an nccl communicator without a GPU";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("comm/nccl: no usable CUDA device"));
  }
  int initialized = 1;
  MPI_Initialized(&initialized);
  EXPECT_EQ(initialized, 0);
}

TEST(CommNcclWithoutGpu, ThePluginReportsItselfUnavailable) {
  host::Registry registry;
  registry.load_required(MTNLG_NCCL_PLUGIN_PATH, "test");
  const host::ComponentRecord* record = registry.find("communicator", "nccl");
  ASSERT_NE(record, nullptr);
  EXPECT_THAT(record->unavailable_reason(), HasSubstr("no usable CUDA device"));
  const Table params, recipe;
  try {
    registry.create(*record, CreateArgs{params, recipe});
    ADD_FAILURE() << "the registry created an nccl communicator without a GPU";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("communicator 'nccl' (plugin 'comm-nccl') is not available on this machine: "
                          "no usable CUDA device"));
  }
}

}  // namespace
}  // namespace mtnlg::comm
