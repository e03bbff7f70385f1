#pragma once
// A fresh folder per test (ctest runs the tests of one binary as parallel processes).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace mtnlg::readers {

inline std::filesystem::path work_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(MTNLG_INDEXED_TEST_WORK_DIR) /
                                    (std::string(info->test_suite_name()) + "." + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace mtnlg::readers
