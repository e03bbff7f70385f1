#include "safetensors/safetensors.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::safetensors {

// The data is stored little-endian and read into memory as it is.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

// The reference implementation refuses headers over 100 MB; so do we, rather than allocate what a corrupt
// length asks for.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeName {
  DType dtype;
  std::string_view name;
};
constexpr std::array<DTypeName, 7> kDTypeNames{{{DType::f64, "F64"},
                                                {DType::f32, "F32"},
                                                {DType::bf16, "BF16"},
                                                {DType::f16, "F16"},
                                                {DType::i64, "I64"},
                                                {DType::i32, "I32"},
                                                {DType::u16, "U16"}}};

std::string known_dtypes() {
  std::string names;
  for (const auto& d : kDTypeNames) names += (names.empty() ? "" : ", ") + std::string(d.name);
  return names;
}

// elements × dtype size, or nullopt on overflow or a negative dimension.
std::optional<std::uint64_t> byte_size(const std::vector<std::int64_t>& shape, DType dtype) {
  std::uint64_t n = dtype_size(dtype);
  for (const std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(d))
      return std::nullopt;
    n *= static_cast<std::uint64_t>(d);
  }
  return n;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const nlohmann::json& entry,
                       std::uint64_t data_bytes) {
  const std::string where = str(file, ": tensor '", name, "'");
  MTNLG_CHECK(entry.is_object(), str(where, ": not a JSON object"));
  const auto dtype_it = entry.find("dtype");
  MTNLG_CHECK(dtype_it != entry.end() && dtype_it->is_string(), str(where, ": no string \"dtype\""));
  const auto dtype = dtype_from_format_name(dtype_it->get<std::string>());
  MTNLG_CHECK(dtype.has_value(), str(where, ": dtype '", dtype_it->get<std::string>(),
                                     "' is not one mtnlg reads (", known_dtypes(), ")"));
  TensorInfo info{name, *dtype, {}, 0, 0};
  const auto shape_it = entry.find("shape");
  MTNLG_CHECK(shape_it != entry.end() && shape_it->is_array(), str(where, ": no \"shape\" array"));
  for (const auto& d : *shape_it) {
    MTNLG_CHECK(d.is_number_unsigned(),
                str(where, ": \"shape\" has ", d.dump(), ", not a non-negative integer"));
    MTNLG_CHECK(
        d.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
        str(where, ": dimension ", d.dump(), " is too large"));
    info.shape.push_back(d.get<std::int64_t>());
  }
  const auto offsets = entry.find("data_offsets");
  MTNLG_CHECK(offsets != entry.end() && offsets->is_array() && offsets->size() == 2 &&
                  (*offsets)[0].is_number_unsigned() && (*offsets)[1].is_number_unsigned(),
              str(where, ": \"data_offsets\" must be [begin, end], two non-negative integers"));
  info.begin = (*offsets)[0].get<std::uint64_t>();
  info.end = (*offsets)[1].get<std::uint64_t>();
  MTNLG_CHECK(info.begin <= info.end && info.end <= data_bytes,
              str(where, ": data_offsets [", info.begin, ", ", info.end, "] are outside the ", data_bytes,
                  "-byte data buffer (a truncated file?)"));
  const auto expected = byte_size(info.shape, info.dtype);
  MTNLG_CHECK(expected.has_value() && *expected == info.bytes(),
              str(where, ": shape ", shape_text(info.shape), " of ", format_dtype_name(info.dtype), " needs ",
                  expected ? std::to_string(*expected) : std::string("too many"),
                  " bytes, data_offsets give ", info.bytes()));
  return info;
}

}  // namespace

std::string_view format_dtype_name(DType dtype) {
  for (const auto& d : kDTypeNames)
    if (d.dtype == dtype) return d.name;
  fail(str("safetensors: no format name for dtype ", dtype_name(dtype)));
}

std::optional<DType> dtype_from_format_name(std::string_view name) {
  for (const auto& d : kDTypeNames)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}

std::int64_t TensorInfo::elements() const {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  return n;
}

Reader::Reader(const std::filesystem::path& path) : path_(path), file_(path, std::ios::binary) {
  const std::string file = path.string();
  MTNLG_CHECK(file_.good() && !std::filesystem::is_directory(path),
              str("cannot read ", file, ": no such file or not readable"));
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  MTNLG_CHECK(!ec, str("cannot read ", file, ": ", ec.message()));
  std::array<unsigned char, 8> length_bytes{};
  MTNLG_CHECK(size >= 8 && file_.read(reinterpret_cast<char*>(length_bytes.data()), 8),
              str(file, ": ", size, " bytes, too short for a safetensors file (8-byte header length first)"));
  std::uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = header_bytes << 8 | length_bytes[static_cast<std::size_t>(i)];
  MTNLG_CHECK(header_bytes >= 2 && header_bytes <= kMaxHeaderBytes,
              str(file, ": header length ", header_bytes, " is not plausible (2 to ", kMaxHeaderBytes,
                  " bytes): not a safetensors file?"));
  MTNLG_CHECK(8 + header_bytes <= size,
              str(file, ": the header says ", header_bytes, " bytes but the file has ", size - 8,
                  " after the length: truncated"));
  std::string header(header_bytes, '\0');
  file_.read(header.data(), static_cast<std::streamsize>(header_bytes));
  MTNLG_CHECK(file_.good(), str("cannot read the header of ", file));
  data_start_ = 8 + header_bytes;
  const std::uint64_t data_bytes = size - data_start_;

  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    fail(str(file, ": the header is not JSON: ", e.what()));
  }
  MTNLG_CHECK(json.is_object(), str(file, ": the header is a JSON ", json.type_name(), ", not an object"));
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      MTNLG_CHECK(entry.is_object(), str(file, ": \"__metadata__\" must be an object of strings"));
      for (const auto& [key, value] : entry.items()) {
        MTNLG_CHECK(value.is_string(), str(file, ": \"__metadata__\" entry '", key, "' is not a string"));
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    tensors_.push_back(parse_entry(file, name, entry, data_bytes));
  }
  // The buffer must be exactly the tensors' bytes, each once: sorted by offset, every tensor starts where the
  // previous one ended and the last ends at the end of the file.
  std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected_begin = 0;
  for (const TensorInfo& t : tensors_) {
    MTNLG_CHECK(
        t.begin == expected_begin,
        str(file, ": tensor '", t.name, "' starts at byte ", t.begin, " of the data, expected ",
            expected_begin, t.begin < expected_begin ? " (it overlaps another tensor)" : " (a hole)"));
    expected_begin = t.end;
  }
  MTNLG_CHECK(expected_begin == data_bytes, str(file, ": the tensors cover ", expected_begin, " bytes of a ",
                                                data_bytes, "-byte data buffer"));
}

bool Reader::contains(std::string_view name) const {
  return std::any_of(tensors_.begin(), tensors_.end(), [&](const TensorInfo& t) { return t.name == name; });
}

const TensorInfo& Reader::tensor(std::string_view name) const {
  for (const TensorInfo& t : tensors_)
    if (t.name == name) return t;
  fail(str(path_.string(), ": no tensor '", name, "' (it has ", tensors_.size(), " tensors)"));
}

std::vector<std::byte> Reader::read(const TensorInfo& tensor) const {
  std::vector<std::byte> bytes(tensor.bytes());
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(data_start_ + tensor.begin));
  file_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  MTNLG_CHECK(file_.good() || bytes.empty(), str("cannot read tensor '", tensor.name, "' from ",
                                                 path_.string(), " (changed since it was opened?)"));
  return bytes;
}

void write(const std::filesystem::path& path, std::span<const TensorToWrite> tensors,
           const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    MTNLG_CHECK(!t.name.empty() && t.name != "__metadata__",
                str("safetensors ", path.string(), ": tensor name '", t.name, "' is not allowed"));
    MTNLG_CHECK(names.insert(t.name).second,
                str("safetensors ", path.string(), ": two tensors named '", t.name, "'"));
    const auto bytes = byte_size(t.shape, t.dtype);
    MTNLG_CHECK(bytes.has_value() && *bytes == t.data.size(),
                str("safetensors ", path.string(), ": tensor '", t.name, "' has ", t.data.size(),
                    " bytes, shape ", shape_text(t.shape), " of ", format_dtype_name(t.dtype), " needs ",
                    bytes ? std::to_string(*bytes) : std::string("too many")));
    header[t.name] = {{"dtype", format_dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + *bytes}}};
    offset += *bytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::array<char, 8> length{};
  for (std::size_t i = 0; i < 8; ++i)
    length[i] = static_cast<char>(static_cast<std::uint64_t>(json.size()) >> (8 * i) & 0xff);

  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MTNLG_CHECK(out.good(), str("cannot write ", tmp.string(), " (does the directory exist?)"));
    out.write(length.data(), 8);
    out.write(json.data(), static_cast<std::streamsize>(json.size()));
    for (const TensorToWrite& t : tensors)
      out.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
    out.close();
    if (out.fail()) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      fail(str("cannot write ", tmp.string(), " (disk full?)"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  MTNLG_CHECK(!ec, str("cannot rename ", tmp.string(), " to ", path.string(), ": ", ec.message()));
}

}  // namespace mtnlg::safetensors
