#pragma once
// An output file that appears whole or not at all: written to PATH.tmp and renamed over PATH by commit().
// Destroyed without commit() (an error part-way), it removes PATH.tmp, so a failed run leaves nothing behind
// and never clobbers an earlier good PATH. Every mtnlg-data command that writes a single file uses it.
#include <filesystem>
#include <fstream>

namespace mtnlg::data {

class AtomicOutputFile {
 public:
  explicit AtomicOutputFile(const std::filesystem::path& path);  // error if PATH.tmp cannot be created
  ~AtomicOutputFile();
  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  std::ostream& stream() { return out_; }
  void commit();  // error if anything failed to write or the rename fails

 private:
  std::filesystem::path path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace mtnlg::data
