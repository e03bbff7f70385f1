#include "io/atomic_output_file.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

AtomicOutputFile::AtomicOutputFile(const std::filesystem::path& path)
    : path_(path), tmp_(path.string() + ".tmp"), out_(tmp_, std::ios::binary | std::ios::trunc) {
  MTNLG_CHECK(out_.good(), str("cannot create ", tmp_.string(), ": ", std::strerror(errno),
                               " (does the directory exist?)"));
}

AtomicOutputFile::~AtomicOutputFile() {
  if (committed_) return;
  out_.close();
  std::error_code ignored;  // nothing more to report: the error that got us here is already on its way
  std::filesystem::remove(tmp_, ignored);
}

void AtomicOutputFile::commit() {
  out_.close();
  MTNLG_CHECK(!out_.fail(), str("cannot write ", tmp_.string(), ": ", std::strerror(errno), " (disk full?)"));
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  MTNLG_CHECK(!ec, str("cannot rename ", tmp_.string(), " to ", path_.string(), ": ", ec.message()));
  committed_ = true;
}

}  // namespace mtnlg::data
