#pragma once
// Writes that survive a crash or power loss: a checkpoint is only as good as its weakest file. Each write
// goes through a file descriptor so the data can be fsync'ed before the rename that publishes it; a rename is
// only durable once its directory is fsync'ed too.
#include <cstddef>
#include <filesystem>
#include <string_view>

namespace mtnlg::host {

// Creates (truncates) `file`, writes `bytes` bytes and fsyncs it. Errors name the file and errno's text.
class DurableFile {
 public:
  explicit DurableFile(const std::filesystem::path& file);
  ~DurableFile();
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;

  void write(const void* data, std::size_t bytes);
  // fsync and close; the destructor closes without syncing (an error path's half-written file is left to the
  // temporary directory it is in).
  void commit();
  std::size_t bytes_written() const { return written_; }

 private:
  std::filesystem::path file_;
  int fd_ = -1;
  std::size_t written_ = 0;
};

void write_durably(const std::filesystem::path& file, std::string_view text);
void sync_directory(const std::filesystem::path& dir);
// `file` gets `text` all at once: written to FILE.tmp, fsync'ed, renamed over `file`, the directory fsync'ed.
void replace_file_atomically(const std::filesystem::path& file, std::string_view text);

}  // namespace mtnlg::host
