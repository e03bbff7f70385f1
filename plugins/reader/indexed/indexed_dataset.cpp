#include "indexed_dataset.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

// The format is little-endian; every array is read and written as the host's bytes.
static_assert(std::endian::native == std::endian::little, "the MMIDIDX format is little-endian");

namespace {

constexpr char kMagic[9] = {'M', 'M', 'I', 'D', 'I', 'D', 'X', '\0', '\0'};
constexpr std::uint64_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 34;  // magic 9 + version 8 + dtype code 1 + S 8 + D 8

// Megatron's DType codes (indexed_dataset.py, class DType).
constexpr std::uint8_t kCodeInt32 = 4;
constexpr std::uint8_t kCodeUint16 = 8;

std::string_view megatron_dtype_name(std::uint8_t code) {
  switch (code) {
    case 1:
      return "uint8";
    case 2:
      return "int8";
    case 3:
      return "int16";
    case 4:
      return "int32";
    case 5:
      return "int64";
    case 6:
      return "float64";
    case 7:
      return "float32";
    case 8:
      return "uint16";
    default:
      return "not a Megatron dtype";
  }
}

std::filesystem::path with_suffix(const std::filesystem::path& prefix, const char* suffix) {
  // Appended, never replace_extension: "data/web.v2" names data/web.v2.bin.
  return std::filesystem::path(prefix.string() + suffix);
}

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void write_all(std::FILE* f, const void* data, std::size_t bytes, const std::filesystem::path& file) {
  if (bytes != 0 && std::fwrite(data, 1, bytes, f) != bytes)
    fail(str("cannot write ", file.string(), ": ", std::strerror(errno)));
}

// Escaped bytes for an error message: "MMIDIDX\x00\x00".
std::string printable(const std::byte* p, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

// ---- writer ----

IndexedDatasetWriter::IndexedDatasetWriter(const std::filesystem::path& prefix, DType token_dtype)
    : bin_path_(with_suffix(prefix, ".bin")),
      idx_path_(with_suffix(prefix, ".idx")),
      bin_tmp_(with_suffix(prefix, ".bin.tmp")),
      idx_tmp_(with_suffix(prefix, ".idx.tmp")),
      dtype_(token_dtype) {
  MTNLG_CHECK(token_dtype == DType::u16 || token_dtype == DType::i32,
              str("indexed dataset ", prefix.string(), ": tokens are written as u16 or i32, not ",
                  dtype_name(token_dtype)));
  bin_ = std::fopen(bin_tmp_.c_str(), "wb");
  MTNLG_CHECK(bin_ != nullptr, str("cannot create ", bin_tmp_.string(), ": ", std::strerror(errno)));
}

IndexedDatasetWriter::~IndexedDatasetWriter() {
  if (!finalized_) remove_temporaries();
}

void IndexedDatasetWriter::remove_temporaries() noexcept {
  if (bin_ != nullptr) std::fclose(bin_);
  bin_ = nullptr;
  std::error_code ignored;
  std::filesystem::remove(bin_tmp_, ignored);
  std::filesystem::remove(idx_tmp_, ignored);
}

void IndexedDatasetWriter::add_document(std::span<const std::int32_t> tokens) {
  MTNLG_CHECK(!finalized_ && bin_ != nullptr,
              str("indexed dataset ", bin_path_.string(), ": add_document after finalize"));
  MTNLG_CHECK(tokens.size() <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
              str("indexed dataset ", bin_path_.string(), ": document ", lengths_.size(), " has ",
                  tokens.size(), " tokens; the .idx stores lengths as int32"));
  if (dtype_ == DType::u16) {
    std::vector<std::uint16_t> narrow(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      MTNLG_CHECK(tokens[i] >= 0 && tokens[i] <= 0xffff,
                  str("indexed dataset ", bin_path_.string(), ": token ", tokens[i], " at position ", i,
                      " of document ", lengths_.size(), " does not fit uint16; write the dataset as i32"));
      narrow[i] = static_cast<std::uint16_t>(tokens[i]);
    }
    write_all(bin_, narrow.data(), narrow.size() * sizeof(std::uint16_t), bin_tmp_);
  } else {
    write_all(bin_, tokens.data(), tokens.size_bytes(), bin_tmp_);
  }
  lengths_.push_back(static_cast<std::int32_t>(tokens.size()));
}

void IndexedDatasetWriter::finalize() {
  MTNLG_CHECK(!finalized_ && bin_ != nullptr,
              str("indexed dataset ", bin_path_.string(), ": finalize twice"));
  const bool closed = std::fclose(bin_) == 0;
  bin_ = nullptr;
  MTNLG_CHECK(closed, str("cannot write ", bin_tmp_.string(), ": ", std::strerror(errno)));

  // Megatron's _IndexWriter: header, then lengths, pointers (running byte offsets) and document indices,
  // which for one sequence per document are 0, 1, …, S.
  const std::uint64_t s = lengths_.size();
  const std::uint64_t d = s + 1;
  const std::uint8_t code = dtype_ == DType::u16 ? kCodeUint16 : kCodeInt32;
  std::vector<std::int64_t> pointers(s), document_indices(d);
  std::int64_t at = 0;
  for (std::size_t i = 0; i < s; ++i) {
    pointers[i] = at;
    at += static_cast<std::int64_t>(lengths_[i]) * static_cast<std::int64_t>(dtype_size(dtype_));
  }
  for (std::size_t i = 0; i < d; ++i) document_indices[i] = static_cast<std::int64_t>(i);

  std::FILE* idx = std::fopen(idx_tmp_.c_str(), "wb");
  MTNLG_CHECK(idx != nullptr, str("cannot create ", idx_tmp_.string(), ": ", std::strerror(errno)));
  try {
    write_all(idx, kMagic, sizeof kMagic, idx_tmp_);
    write_all(idx, &kVersion, sizeof kVersion, idx_tmp_);
    write_all(idx, &code, sizeof code, idx_tmp_);
    write_all(idx, &s, sizeof s, idx_tmp_);
    write_all(idx, &d, sizeof d, idx_tmp_);
    write_all(idx, lengths_.data(), lengths_.size() * sizeof(std::int32_t), idx_tmp_);
    write_all(idx, pointers.data(), pointers.size() * sizeof(std::int64_t), idx_tmp_);
    write_all(idx, document_indices.data(), document_indices.size() * sizeof(std::int64_t), idx_tmp_);
  } catch (...) {
    std::fclose(idx);
    throw;
  }
  MTNLG_CHECK(std::fclose(idx) == 0, str("cannot write ", idx_tmp_.string(), ": ", std::strerror(errno)));

  // The .idx goes last: a reader that finds it finds the matching .bin already in place.
  std::error_code ec;
  std::filesystem::rename(bin_tmp_, bin_path_, ec);
  MTNLG_CHECK(!ec, str("cannot rename ", bin_tmp_.string(), " to ", bin_path_.string(), ": ", ec.message()));
  std::filesystem::rename(idx_tmp_, idx_path_, ec);
  MTNLG_CHECK(!ec, str("cannot rename ", idx_tmp_.string(), " to ", idx_path_.string(), ": ", ec.message()));
  finalized_ = true;
}

// ---- reader ----

IndexedDataset::Mapping IndexedDataset::map_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  MTNLG_CHECK(fd >= 0, str("cannot open ", file.string(), ": ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(str("cannot stat ", file.string(), ": ", std::strerror(err)));
  }
  Mapping m;
  m.size = static_cast<std::size_t>(st.st_size);
  if (m.size > 0) {
    void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    MTNLG_CHECK(p != MAP_FAILED, str("cannot mmap ", file.string(), ": ", std::strerror(err)));
    m.data = static_cast<const std::byte*>(p);
  } else {
    ::close(fd);
  }
  return m;
}

void IndexedDataset::unmap(Mapping& m) noexcept {
  if (m.data != nullptr) ::munmap(const_cast<std::byte*>(m.data), m.size);
  m = Mapping{};
}

IndexedDataset::IndexedDataset(IndexedDataset&& other) noexcept
    : prefix_(std::move(other.prefix_)),
      idx_(std::exchange(other.idx_, Mapping{})),
      bin_(std::exchange(other.bin_, Mapping{})),
      dtype_(other.dtype_),
      lengths_(std::move(other.lengths_)),
      document_indices_(std::move(other.document_indices_)),
      pointers_offset_(other.pointers_offset_) {}

IndexedDataset& IndexedDataset::operator=(IndexedDataset&& other) noexcept {
  if (this != &other) {
    unmap(idx_);
    unmap(bin_);
    prefix_ = std::move(other.prefix_);
    idx_ = std::exchange(other.idx_, Mapping{});
    bin_ = std::exchange(other.bin_, Mapping{});
    dtype_ = other.dtype_;
    lengths_ = std::move(other.lengths_);
    document_indices_ = std::move(other.document_indices_);
    pointers_offset_ = other.pointers_offset_;
  }
  return *this;
}

IndexedDataset::~IndexedDataset() {
  unmap(idx_);
  unmap(bin_);
}

IndexedDataset IndexedDataset::open(const std::filesystem::path& prefix) {
  const std::filesystem::path idx_path = with_suffix(prefix, ".idx"), bin_path = with_suffix(prefix, ".bin");
  const std::string idx_name = idx_path.string(), bin_name = bin_path.string();
  // Both files are checked before either is read, so a missing .bin is reported as such, not as a bad .idx.
  for (const auto& f : {idx_path, bin_path}) {
    std::error_code ec;
    const bool there = std::filesystem::exists(f, ec);
    MTNLG_CHECK(there, str("cannot open indexed dataset ", prefix.string(), ": ", f.string(),
                           " does not exist (a dataset is PREFIX.bin + PREFIX.idx)"));
  }

  IndexedDataset ds;
  ds.prefix_ = prefix;
  ds.idx_ = map_file(idx_path);
  const std::byte* p = ds.idx_.data;
  const std::size_t size = ds.idx_.size;

  MTNLG_CHECK(size >= sizeof kMagic && std::memcmp(p, kMagic, sizeof kMagic) == 0,
              str(idx_name, ": bad magic \"", printable(p, std::min(size, sizeof kMagic)),
                  "\"; a Megatron mmap indexed dataset starts with \"MMIDIDX\\x00\\x00\""));
  MTNLG_CHECK(size >= kHeaderBytes, str(idx_name, ": truncated .idx: ", size,
                                        " bytes, but the header alone is ", kHeaderBytes, " bytes"));
  const auto version = load<std::uint64_t>(p + 9);
  MTNLG_CHECK(version == kVersion,
              str(idx_name, ": unsupported version ", version, "; only version 1 is read"));
  const auto code = load<std::uint8_t>(p + 17);
  MTNLG_CHECK(code == kCodeUint16 || code == kCodeInt32,
              str(idx_name, ": unsupported dtype code ", static_cast<int>(code), " (",
                  megatron_dtype_name(code), "); token datasets are uint16 (code 8) or int32 (code 4)"));
  ds.dtype_ = code == kCodeUint16 ? DType::u16 : DType::i32;
  const auto s = load<std::uint64_t>(p + 18);
  const auto d = load<std::uint64_t>(p + 26);

  // Sizes compared by division first, so that a corrupt count cannot overflow the arithmetic.
  const std::size_t body = size - kHeaderBytes;
  const bool counts_fit = s <= body / 12 && d <= (body - 12 * s) / 8;
  const std::uint64_t need = counts_fit ? kHeaderBytes + 12 * s + 8 * d : 0;
  MTNLG_CHECK(counts_fit, str(idx_name, ": truncated .idx: the header declares ", s, " sequences and ", d,
                              " document indices, more than the file's ", size, " bytes hold (", kHeaderBytes,
                              " + 12 per sequence + 8 per document index)"));
  // Megatron's multimodal datasets append one int8 mode per sequence; anything else is not this format.
  MTNLG_CHECK(
      size == need || size == need + s,
      str(idx_name, ": ", size - need, " unexpected bytes after the document indices (the header declares ",
          s, " sequences and ", d, " document indices)"));
  MTNLG_CHECK(d >= 1, str(idx_name,
                          ": inconsistent document indices: there are none; even an empty dataset has "
                          "the leading 0"));

  ds.lengths_.resize(s);
  if (s > 0) std::memcpy(ds.lengths_.data(), p + kHeaderBytes, s * sizeof(std::int32_t));
  ds.pointers_offset_ = kHeaderBytes + 4 * s;
  ds.document_indices_.resize(d);
  std::memcpy(ds.document_indices_.data(), p + kHeaderBytes + 12 * s, d * sizeof(std::int64_t));

  const auto& doc = ds.document_indices_;
  MTNLG_CHECK(doc.front() == 0,
              str(idx_name, ": inconsistent document indices: the first is ", doc.front(), ", not 0"));
  for (std::size_t i = 1; i < d; ++i)
    MTNLG_CHECK(doc[i] >= doc[i - 1], str(idx_name, ": inconsistent document indices: entry ", i, " (",
                                          doc[i], ") is below entry ", i - 1, " (", doc[i - 1], ")"));
  MTNLG_CHECK(static_cast<std::uint64_t>(doc.back()) == s,
              str(idx_name, ": inconsistent document indices: the last is ", doc.back(), " but there are ", s,
                  " sequences"));

  ds.bin_ = map_file(bin_path);
  const auto item = static_cast<std::uint64_t>(dtype_size(ds.dtype_));
  for (std::size_t i = 0; i < s; ++i) {
    const std::int32_t len = ds.lengths_[i];
    MTNLG_CHECK(len >= 0, str(idx_name, ": sequence ", i, " has a negative length (", len, ")"));
    const std::int64_t ptr = ds.pointer(i);
    const std::uint64_t bytes = static_cast<std::uint64_t>(len) * item;
    MTNLG_CHECK(
        ptr >= 0 && static_cast<std::uint64_t>(ptr) <= ds.bin_.size &&
            bytes <= ds.bin_.size - static_cast<std::uint64_t>(ptr),
        str(bin_name, " is shorter than ", idx_name, " says: sequence ", i, " (", len,
            " tokens) spans bytes [", ptr, ", ", static_cast<std::uint64_t>(ptr) + bytes,
            ") but the file has ", ds.bin_.size, " bytes (truncated, or a .bin from another dataset?)"));
  }
  return ds;
}

std::int64_t IndexedDataset::pointer(std::size_t i) const {
  return load<std::int64_t>(idx_.data + pointers_offset_ + i * sizeof(std::int64_t));
}

std::vector<std::int32_t> IndexedDataset::tokens(std::size_t i, std::size_t offset,
                                                 std::size_t length) const {
  MTNLG_CHECK(i < lengths_.size(),
              str(prefix_.string(), ": sequence ", i, " does not exist; the dataset has ", lengths_.size()));
  const auto len = static_cast<std::size_t>(lengths_[i]);
  MTNLG_CHECK(offset <= len && length <= len - offset,
              str(prefix_.string(), ": sequence ", i, " has ", len, " tokens; asked for [", offset, ", ",
                  offset + length, ")"));
  std::vector<std::int32_t> out(length);
  if (length == 0) return out;
  const std::byte* src = bin_.data + pointer(i) + offset * dtype_size(dtype_);
  if (dtype_ == DType::i32) {
    std::memcpy(out.data(), src, length * sizeof(std::int32_t));
  } else {
    for (std::size_t k = 0; k < length; ++k) out[k] = load<std::uint16_t>(src + 2 * k);
  }
  return out;
}

}  // namespace mtnlg::data
