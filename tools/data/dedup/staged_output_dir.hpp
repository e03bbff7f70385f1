#pragma once
// Output files are written into a temporary directory beside the output directory and only moved into it,
// file by file with rename(), once every one of them is complete. A run that fails (bad input, full disk)
// leaves the output directory as it was: the staging directory is removed when this object is destroyed
// without commit().
#include <filesystem>
#include <string>
#include <vector>

namespace mtnlg::data::dedup {

class StagedOutputDir {
 public:
  explicit StagedOutputDir(std::filesystem::path final_dir);
  ~StagedOutputDir();
  StagedOutputDir(const StagedOutputDir&) = delete;
  StagedOutputDir& operator=(const StagedOutputDir&) = delete;

  // Where to write the file that will become final_dir/name.
  std::filesystem::path staged(const std::string& name);
  // Creates final_dir if needed and moves every staged file into it, replacing files of the same name.
  std::vector<std::filesystem::path> commit();

 private:
  std::filesystem::path final_dir_;
  std::filesystem::path staging_dir_;
  std::vector<std::string> names_;
  bool committed_ = false;
};

}  // namespace mtnlg::data::dedup
