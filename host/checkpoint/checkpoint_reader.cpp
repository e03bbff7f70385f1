#include "checkpoint/checkpoint_reader.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "recipe/load_recipe.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  MTNLG_CHECK(in.good(), str("cannot read ", file.string()));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Copies between a tensor-parallel slice (row-major over its own shape) and the global tensor, one run of
// `len · inner` contiguous elements per outer index.
struct SliceGeometry {
  std::int64_t outer = 1, inner = 1, dim = 1, len = 1, part = 0;
  SliceGeometry(const Shape& shape, int tp_dim, int part_index, int parts) {
    if (tp_dim < 0) {
      inner = shape_numel(shape);
      return;
    }
    for (int i = 0; i < tp_dim; ++i) outer *= shape[i];
    for (std::size_t i = tp_dim + 1; i < shape.size(); ++i) inner *= shape[i];
    dim = shape[tp_dim];
    len = dim / parts;
    part = part_index;
  }
  void to_global(char* global, const char* slice, std::size_t es) const {
    for (std::int64_t o = 0; o < outer; ++o)
      std::memcpy(global + ((o * dim + part * len) * inner) * es, slice + (o * len * inner) * es,
                  len * inner * es);
  }
  void from_global(char* slice, const char* global, std::size_t es) const {
    for (std::int64_t o = 0; o < outer; ++o)
      std::memcpy(slice + (o * len * inner) * es, global + ((o * dim + part * len) * inner) * es,
                  len * inner * es);
  }
};

}  // namespace

CheckpointReader::CheckpointReader(const fs::path& dir) : dir_(dir) {
  const fs::path manifest_file = dir / "manifest.toml";
  MTNLG_CHECK(fs::is_directory(dir), str(dir.string(), ": no such checkpoint directory"));
  MTNLG_CHECK(fs::exists(manifest_file),
              str(dir.string(),
                  " is not a complete checkpoint: no manifest.toml (a save that did not finish "
                  "leaves a .tmp directory without one; resume from the `latest` checkpoint)"));
  manifest_ = recipe::load_recipe(manifest_file);
  const Value* format = manifest_.find("format");
  MTNLG_CHECK(format != nullptr && format->is_string() && format->as_string() == kShardedCheckpointFormat,
              str(manifest_file.string(), ": unknown checkpoint format ",
                  format != nullptr ? format->to_toml() : std::string("(none)"), " (expected \"",
                  kShardedCheckpointFormat, "\")"));
  for (const Value& v : manifest_.get_array("shards")) {
    const std::string& shard = v.as_string();
    const fs::path index = dir / (shard + ".json"), data = dir / (shard + ".bin");
    MTNLG_CHECK(fs::exists(index) && fs::exists(data),
                str(dir.string(), ": shard ", shard, " is missing (",
                    fs::exists(index) ? data.filename().string() : index.filename().string(),
                    "); the checkpoint is incomplete: copy it again, or resume from an earlier one"));
    std::int64_t expected = 0;
    for (ShardEntry& e : parse_shard_index(read_text(index), index.string())) {
      MTNLG_CHECK(e.offset == expected, str(index.string(), ": ", e.describe(), " starts at byte ", e.offset,
                                            ", expected ", expected, "; the checkpoint is damaged"));
      expected += e.bytes();
      e.file = data.filename().string();
      entries_[{e.name, e.kind}].push_back(std::move(e));
    }
    const auto size = static_cast<std::int64_t>(fs::file_size(data));
    MTNLG_CHECK(size == expected, str(data.string(), " has ", size, " bytes, its index ", expected,
                                      size < expected ? ": the file is truncated" : ": the file is damaged",
                                      "; copy the checkpoint again, or resume from an earlier one"));
  }
  // The pieces of one tensor must describe the same tensor split the same way: one save writes one layout.
  // Pieces that disagree (a damaged index, shards of two checkpoints mixed) would otherwise be copied with
  // the wrong element size or geometry.
  const auto index_of = [](const ShardEntry& e) {
    return fs::path(e.file).replace_extension(".json").string();
  };
  const auto layout = [](const ShardEntry& e) {
    return str(dtype_name(e.dtype), " ", shape_str(e.shape),
               e.tp_dim >= 0 ? str(" split along dimension ", e.tp_dim) : std::string(" whole"));
  };
  for (const auto& [key, pieces] : entries_) {
    const ShardEntry& a = pieces.front();
    for (const ShardEntry& b : pieces) {
      MTNLG_CHECK(b.dtype == a.dtype && b.shape == a.shape && b.tp_dim == a.tp_dim,
                  str(dir.string(), ": ", a.name, " (", a.kind, ") is ", layout(a), " in ", index_of(a),
                      " but ", layout(b), " in ", index_of(b), "; the checkpoint is damaged"));
      MTNLG_CHECK(b.tp_parts == a.tp_parts,
                  str(dir.string(), ": ", a.name, " (", a.kind,
                      ") was saved with mixed tensor-parallel sizes: ", a.tp_parts, " in ", index_of(a), ", ",
                      b.tp_parts, " in ", index_of(b), "; the checkpoint is damaged"));
    }
  }
}

bool CheckpointReader::has(const std::string& name, const std::string& kind) const {
  return entries_.count({name, kind}) > 0;
}

std::vector<std::string> CheckpointReader::kinds_of(const std::string& name) const {
  std::vector<std::string> out;
  for (auto it = entries_.lower_bound({name, ""}); it != entries_.end() && it->first.first == name; ++it)
    out.push_back(it->first.second);
  std::stable_partition(out.begin(), out.end(), [](const std::string& k) { return k == kParameterKind; });
  return out;
}

std::vector<char> CheckpointReader::read_piece(const ShardEntry& e) const {
  const fs::path file = dir_ / e.file;
  std::ifstream in(file, std::ios::binary);
  std::vector<char> bytes(static_cast<std::size_t>(e.bytes()));
  in.seekg(e.offset);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  MTNLG_CHECK(in.good() || (in.eof() && in.gcount() == static_cast<std::streamsize>(bytes.size())),
              str(file.string(), ": cannot read ", e.describe()));
  MTNLG_CHECK(
      crc32_of(bytes.data(), bytes.size()) == e.crc32,
      str(file.string(), ": ", e.describe(),
          " fails its CRC-32 check: the file is corrupt; copy the checkpoint again, or resume from an "
          "earlier one"));
  return bytes;
}

void CheckpointReader::read(const std::string& name, const std::string& kind, const SliceRequest& want,
                            void* out) const {
  const auto it = entries_.find({name, kind});
  MTNLG_CHECK(it != entries_.end(), str(dir_.string(), " has no ", kind == kParameterKind ? "parameter " : "",
                                        name, kind == kParameterKind ? "" : str(" ", kind),
                                        ": it was saved from a different model or optimizer"));
  const std::vector<ShardEntry>& pieces = it->second;
  const ShardEntry& first = pieces.front();
  MTNLG_CHECK(
      first.shape == want.shape && first.dtype == want.dtype && (first.tp_dim < 0) == (want.tp_dim < 0) &&
          (want.tp_dim < 0 || first.tp_dim == want.tp_dim),
      str(dir_.string(), ": ", name, " (", kind, ") is ", dtype_name(first.dtype), " ",
          shape_str(first.shape), first.tp_dim >= 0 ? str(" split along dimension ", first.tp_dim) : "",
          "; the model wants ", dtype_name(want.dtype), " ", shape_str(want.shape),
          want.tp_dim >= 0 ? str(" split along dimension ", want.tp_dim) : "",
          ": the checkpoint is of a different model (compare its recipe.toml)"));
  const std::size_t es = dtype_size(want.dtype);
  char* dst = static_cast<char*>(out);

  // Copies the parts of `part`'s pieces that fall in [lo, hi) of that slice to `to` (indexed from lo), and
  // checks every element was covered.
  const auto gather = [&](int part, int parts, std::int64_t lo, std::int64_t hi, char* to) {
    std::vector<std::pair<std::int64_t, std::int64_t>> covered;
    for (const ShardEntry& e : pieces) {
      if (e.tp_parts != parts || e.tp_part != part) continue;
      const std::int64_t b = std::max(lo, e.begin), en = std::min(hi, e.end);
      if (b >= en) continue;
      const std::vector<char> bytes = read_piece(e);
      std::memcpy(to + (b - lo) * es, bytes.data() + (b - e.begin) * es, (en - b) * es);
      covered.emplace_back(b, en);
    }
    std::sort(covered.begin(), covered.end());
    std::int64_t reached = lo;
    for (const auto& [b, en] : covered) {
      if (b > reached) break;
      reached = std::max(reached, en);
    }
    MTNLG_CHECK(reached >= hi,
                str(dir_.string(), ": no shard holds elements [", reached, ", ", hi, ") of ", name, " (",
                    kind, ", slice ", part, "/", parts, "); the checkpoint is incomplete"));
  };

  const bool same_split =
      want.tp_dim < 0 || std::any_of(pieces.begin(), pieces.end(),
                                     [&](const ShardEntry& e) { return e.tp_parts == want.tp_parts; });
  if (same_split) {
    gather(want.tp_dim < 0 ? 0 : want.tp_part, want.tp_dim < 0 ? 1 : want.tp_parts, want.begin, want.end,
           dst);
    return;
  }
  // Saved with another tensor-parallel size (one for all pieces: checked on opening): the whole tensor from
  // its saved slices, then the wanted slice.
  const int saved_parts = first.tp_parts;
  std::vector<char> global(static_cast<std::size_t>(shape_numel(want.shape)) * es);
  const std::int64_t saved_slice = slice_numel(want.shape, want.tp_dim, saved_parts);
  std::vector<char> slice(static_cast<std::size_t>(saved_slice) * es);
  for (int p = 0; p < saved_parts; ++p) {
    gather(p, saved_parts, 0, saved_slice, slice.data());
    SliceGeometry(want.shape, want.tp_dim, p, saved_parts).to_global(global.data(), slice.data(), es);
  }
  MTNLG_CHECK(want.shape[want.tp_dim] % want.tp_parts == 0,
              str(name, " ", shape_str(want.shape), ": dimension ", want.tp_dim,
                  " does not divide by the tensor-parallel size ", want.tp_parts));
  slice.assign(static_cast<std::size_t>(slice_numel(want.shape, want.tp_dim, want.tp_parts)) * es, 0);
  SliceGeometry(want.shape, want.tp_dim, want.tp_part, want.tp_parts)
      .from_global(slice.data(), global.data(), es);
  std::memcpy(dst, slice.data() + want.begin * es, (want.end - want.begin) * es);
}

}  // namespace mtnlg::host
