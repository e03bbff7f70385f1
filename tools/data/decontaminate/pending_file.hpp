#pragma once
// An output file that appears only when complete: written under a temporary name next to the final one and
// renamed over it by commit(); destroyed without commit (an error, an exception) it removes the temporary, so
// a failed run leaves nothing half-written behind.
#include <filesystem>
#include <fstream>

namespace mtnlg::data::decontaminate {

class PendingFile {
 public:
  explicit PendingFile(std::filesystem::path path);
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  ~PendingFile();

  std::ofstream& out() { return out_; }
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path temporary_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace mtnlg::data::decontaminate
