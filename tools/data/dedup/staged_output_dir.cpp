#include "staged_output_dir.hpp"

#include <unistd.h>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::dedup {

namespace fs = std::filesystem;

StagedOutputDir::StagedOutputDir(fs::path final_dir) : final_dir_(std::move(final_dir)) {
  if (final_dir_.filename().empty()) final_dir_ = final_dir_.parent_path();  // "out/" names "out"
  MTNLG_CHECK(!final_dir_.empty(), "--output-dir is required");
  MTNLG_CHECK(!fs::exists(final_dir_) || fs::is_directory(final_dir_),
              str("--output-dir ", final_dir_.string(), " exists and is not a directory"));
  // Beside the final directory, so that the renames at commit() stay within one file system.
  const fs::path parent = fs::absolute(final_dir_).parent_path();
  std::error_code error;
  fs::create_directories(parent, error);
  MTNLG_CHECK(!error, str("cannot create ", parent.string(), ": ", error.message()));
  staging_dir_ = parent / str(".", final_dir_.filename().string(), ".dedup-tmp-", ::getpid());
  fs::remove_all(staging_dir_, error);
  fs::create_directory(staging_dir_, error);
  MTNLG_CHECK(!error, str("cannot create ", staging_dir_.string(), ": ", error.message()));
}

StagedOutputDir::~StagedOutputDir() {
  std::error_code ignored;  // nothing useful to do about a failed clean-up while unwinding
  fs::remove_all(staging_dir_, ignored);
}

fs::path StagedOutputDir::staged(const std::string& name) {
  names_.push_back(name);
  return staging_dir_ / name;
}

std::vector<fs::path> StagedOutputDir::commit() {
  MTNLG_CHECK(!committed_, "output directory committed twice");
  std::error_code error;
  fs::create_directories(final_dir_, error);
  MTNLG_CHECK(!error, str("cannot create --output-dir ", final_dir_.string(), ": ", error.message()));
  std::vector<fs::path> written;
  for (const std::string& name : names_) {
    fs::rename(staging_dir_ / name, final_dir_ / name, error);
    MTNLG_CHECK(!error, str("cannot move ", name, " into ", final_dir_.string(), ": ", error.message()));
    written.push_back(final_dir_ / name);
  }
  committed_ = true;
  return written;
}

}  // namespace mtnlg::data::dedup
