#pragma once
// Writes one rank's shard of a checkpoint: NAME.bin with the pieces' bytes and NAME.json indexing them, both
// fsync'ed by finish(). The directory they go in is a temporary one until the whole checkpoint is complete.
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/durable_file.hpp"
#include "checkpoint/shard_entry.hpp"

namespace mtnlg::host {

class ShardWriter {
 public:
  ShardWriter(const std::filesystem::path& dir, const std::string& name);
  // `entry` without offset and checksum, which this fills in; `data` holds entry.bytes() bytes.
  void add(ShardEntry entry, const void* data);
  void finish();

 private:
  std::filesystem::path dir_;
  std::string name_;
  DurableFile data_;
  std::vector<ShardEntry> entries_;
};

}  // namespace mtnlg::host
