#pragma once
// Reads a sharded checkpoint back on any layout. Opening checks the checkpoint is whole (format, every shard
// listed in the manifest present, no file shorter or longer than its index says, the pieces of each tensor
// agreeing on its dtype, shape and tensor-parallel split); read() assembles any slice
// of any tensor from whichever pieces hold it, checking each piece's CRC-32, so a rank of a different
// tensor-, pipeline- or data-parallel layout gets exactly the elements it owns.
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "checkpoint/shard_entry.hpp"
#include "mtnlg/config.hpp"

namespace mtnlg::host {

inline constexpr const char* kShardedCheckpointFormat = "mtnlg-sharded-checkpoint-1";

// What a reader of a checkpoint wants: elements [begin, end) of the tensor-parallel slice `tp_part` of
// `tp_parts` along `tp_dim` of a tensor of global `shape`, as `dtype`.
struct SliceRequest {
  DType dtype = DType::f32;
  Shape shape;
  int tp_dim = -1, tp_part = 0, tp_parts = 1;
  std::int64_t begin = 0, end = 0;
};

class CheckpointReader {
 public:
  explicit CheckpointReader(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const Table& manifest() const { return manifest_; }
  bool has(const std::string& name, const std::string& kind) const;
  // The kinds saved for parameter `name` (kParameterKind first if present).
  std::vector<std::string> kinds_of(const std::string& name) const;
  // Fills `out` with (want.end - want.begin) elements. Errors name the checkpoint, the tensor and what is
  // missing or does not match.
  void read(const std::string& name, const std::string& kind, const SliceRequest& want, void* out) const;

 private:
  std::vector<char> read_piece(const ShardEntry& e) const;

  std::filesystem::path dir_;
  Table manifest_;
  std::map<std::pair<std::string, std::string>, std::vector<ShardEntry>> entries_;
};

}  // namespace mtnlg::host
