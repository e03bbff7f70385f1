#include "checkpoint/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

DurableFile::DurableFile(const fs::path& file) : file_(file) {
  fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  MTNLG_CHECK(fd_ >= 0, str("cannot create ", file.string(), ": ", std::strerror(errno)));
}

DurableFile::~DurableFile() {
  if (fd_ >= 0) ::close(fd_);
}

void DurableFile::write(const void* data, std::size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    MTNLG_CHECK(n > 0, str("writing ", file_.string(), " failed: ", std::strerror(errno),
                           " (disk full or not writable?)"));
    p += n;
    bytes -= static_cast<std::size_t>(n);
    written_ += static_cast<std::size_t>(n);
  }
}

void DurableFile::commit() {
  MTNLG_CHECK(::fsync(fd_) == 0, str("fsync of ", file_.string(), " failed: ", std::strerror(errno)));
  const int fd = fd_;
  fd_ = -1;
  MTNLG_CHECK(::close(fd) == 0, str("closing ", file_.string(), " failed: ", std::strerror(errno)));
}

void write_durably(const fs::path& file, std::string_view text) {
  DurableFile out(file);
  out.write(text.data(), text.size());
  out.commit();
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  MTNLG_CHECK(fd >= 0, str("cannot open directory ", dir.string(), ": ", std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  MTNLG_CHECK(rc == 0, str("fsync of directory ", dir.string(), " failed: ", std::strerror(err)));
}

void replace_file_atomically(const fs::path& file, std::string_view text) {
  const fs::path tmp = file.string() + ".tmp";
  write_durably(tmp, text);
  std::error_code ec;
  fs::rename(tmp, file, ec);
  MTNLG_CHECK(!ec, str("cannot rename ", tmp.string(), " to ", file.string(), ": ", ec.message()));
  sync_directory(file.has_parent_path() ? file.parent_path() : fs::path("."));
}

}  // namespace mtnlg::host
