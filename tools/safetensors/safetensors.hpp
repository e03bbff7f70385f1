#pragma once
// Hugging Face's safetensors format, read and written from its specification
// (https://github.com/huggingface/safetensors, "Format"): an unsigned little-endian 64-bit header length N,
// N bytes of UTF-8 JSON, then one byte buffer. The JSON maps each tensor name to {"dtype", "shape",
// "data_offsets": [begin, end]} (byte offsets into the buffer, end exclusive) and may hold "__metadata__", a
// map of strings. Tensor data is row-major and little-endian; the offsets must cover the buffer exactly, with
// no hole or overlap. This is how `mtnlg convert` exchanges GPT-2 weights with Hugging Face.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mtnlg/dtype.hpp"

namespace mtnlg::safetensors {

// The format's dtype names for the dtypes mtnlg has: "F64", "F32", "BF16", "F16", "I64", "I32", "U16".
std::string_view format_dtype_name(DType dtype);
std::optional<DType> dtype_from_format_name(std::string_view name);

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;   // [] is a scalar (one element)
  std::uint64_t begin = 0, end = 0;  // byte range in the data buffer
  std::int64_t elements() const;
  std::uint64_t bytes() const { return end - begin; }
};

// Opens a file, reads and checks its header; tensor data is read on demand. Every error names the file and
// what is wrong with it (truncated, header not JSON, a tensor whose offsets disagree with its shape, ...).
class Reader {
 public:
  explicit Reader(const std::filesystem::path& path);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in buffer order
  bool contains(std::string_view name) const;
  const TensorInfo& tensor(std::string_view name) const;  // error naming the file if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The tensor's bytes, exactly as stored (little-endian).
  std::vector<std::byte> read(const TensorInfo& tensor) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  mutable std::ifstream file_;
  std::uint64_t data_start_ = 0;  // 8 + header length
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;  // elements × dtype size bytes, little-endian
};

// Writes the tensors, in the given order, and the metadata; the header is padded with spaces to a multiple of
// 8 bytes (as Hugging Face's writer does, so the data is aligned). Atomic: written to PATH.tmp and renamed.
// Errors for a duplicate or empty name, a data size that does not match the shape, or a failed write.
void write(const std::filesystem::path& path, std::span<const TensorToWrite> tensors,
           const std::map<std::string, std::string>& metadata = {});

}  // namespace mtnlg::safetensors
