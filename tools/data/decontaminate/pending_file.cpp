#include "decontaminate/pending_file.hpp"

#include <system_error>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data::decontaminate {

PendingFile::PendingFile(std::filesystem::path path)
    : path_(std::move(path)), temporary_(path_.string() + ".partial") {
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  MTNLG_CHECK(out_.good(), str("cannot write ", temporary_.string(), " (does the directory exist?)"));
}

PendingFile::~PendingFile() {
  if (committed_) return;
  out_.close();
  std::error_code ignored;
  std::filesystem::remove(temporary_, ignored);
}

void PendingFile::commit() {
  out_.close();
  MTNLG_CHECK(!out_.fail(), str("cannot write ", temporary_.string(), " (disk full?)"));
  std::error_code error;
  std::filesystem::rename(temporary_, path_, error);
  MTNLG_CHECK(!error,
              str("cannot rename ", temporary_.string(), " to ", path_.string(), ": ", error.message()));
  committed_ = true;
}

}  // namespace mtnlg::data::decontaminate
