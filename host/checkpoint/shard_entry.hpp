#pragma once
// One tensor piece in a sharded checkpoint. A rank's shard is RANK.bin (the pieces' bytes back to back,
// little-endian) and RANK.json (one entry per piece). Each entry says which part of which global tensor it
// holds, so a checkpoint can be read back on any layout: the slice `tp_part` of `tp_parts` along `tp_dim` of
// the global shape (the tensor-parallel split; the whole tensor when tp_dim < 0), and within that slice the
// row-major element range [begin, end) (a ZeRO-1 shard of optimizer state holds part of a slice).
#include <cstdint>
#include <string>
#include <vector>

#include "mtnlg/dtype.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg::host {

inline constexpr const char* kParameterKind =
    "param";  // the model's weights; optimizer state has its own kinds

struct ShardEntry {
  std::string name;  // the parameter's canonical name "3.weight" (a tied copy is saved under its origin)
  std::string kind;  // kParameterKind or an optimizer state kind ("adamw.exp_avg")
  DType dtype = DType::f32;
  Shape shape;  // global
  int tp_dim = -1, tp_part = 0, tp_parts = 1;
  std::int64_t begin = 0, end = 0;  // elements of the slice
  std::int64_t offset = 0;          // bytes into the .bin file
  std::uint32_t crc32 = 0;          // of the piece's bytes
  std::string file;                 // the .bin file's name (set when read)

  std::int64_t bytes() const { return (end - begin) * static_cast<std::int64_t>(dtype_size(dtype)); }
  std::string describe() const;  // "3.weight (adamw.exp_avg, tp slice 1/2, elements [0, 512))"
};

std::string shard_index_json(const std::vector<ShardEntry>& entries);
// Parses RANK.json; errors name `file` and the entry.
std::vector<ShardEntry> parse_shard_index(const std::string& text, const std::string& file);

std::uint32_t crc32_of(const void* data, std::size_t bytes);

// Elements of the tensor-parallel slice `part` of `parts` along `dim` of `shape` (all of it when dim < 0).
std::int64_t slice_numel(const Shape& shape, int dim, int parts);

}  // namespace mtnlg::host
