#include "checkpoint/shard_writer.hpp"

namespace mtnlg::host {

ShardWriter::ShardWriter(const std::filesystem::path& dir, const std::string& name)
    : dir_(dir), name_(name), data_(dir / (name + ".bin")) {}

void ShardWriter::add(ShardEntry entry, const void* data) {
  entry.offset = static_cast<std::int64_t>(data_.bytes_written());
  entry.crc32 = crc32_of(data, static_cast<std::size_t>(entry.bytes()));
  data_.write(data, static_cast<std::size_t>(entry.bytes()));
  entries_.push_back(std::move(entry));
}

void ShardWriter::finish() {
  data_.commit();
  write_durably(dir_ / (name_ + ".json"), shard_index_json(entries_));
}

}  // namespace mtnlg::host
