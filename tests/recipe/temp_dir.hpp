#pragma once
// A scratch directory for recipe files, removed when the test ends.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace mtnlg::recipe::testing {

class TempDir {
 public:
  TempDir() {
    static int count = 0;
    // The pid keeps tests that ctest runs in parallel processes apart.
    path_ = std::filesystem::temp_directory_path() /
            ("mtnlg-recipe-test-" + std::to_string(::getpid()) + "-" + std::to_string(count++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to `name` (which may name subdirectories) and returns the file's path.
  std::filesystem::path write(const std::string& name, std::string_view text) const {
    const std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mtnlg::recipe::testing
