#pragma once
// Megatron-LM's mmap indexed dataset (megatron/core/datasets/indexed_dataset.py), version 1: a token file
// PREFIX.bin and an index PREFIX.idx. Files written here are byte-for-byte what Megatron's
// IndexedDatasetBuilder writes for the same documents, and Megatron-written files read here.
//
// PREFIX.idx, all little-endian, packed (no alignment padding):
//   offset 0   magic "MMIDIDX\0\0"                                   9 bytes
//   offset 9   version, u64 = 1                                       8 bytes
//   offset 17  dtype code, u8 (1 uint8, 2 int8, 3 int16, 4 int32,     1 byte
//              5 int64, 6 float64, 7 float32, 8 uint16)
//   offset 18  S = sequence count, u64                                8 bytes
//   offset 26  D = document-index count, u64 (documents + 1)          8 bytes
//   offset 34  sequence lengths in tokens, int32[S]
//              sequence pointers, byte offsets into .bin, int64[S]
//              document indices, int64[D]: document d is sequences [doc[d], doc[d+1]); doc[0] = 0, doc[D-1] =
//              S
//   (multimodal datasets append one int8 mode per sequence; it is accepted and ignored)
// PREFIX.bin: the tokens of every sequence, back to back, in the dtype of the code.
//
// Token files are uint16 (vocabularies below 65500, as Megatron's preprocess_data picks for GPT-2) or int32;
// the other codes are refused when reading. One sequence is one document when writing (GPT data).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <vector>

#include "mtnlg/dtype.hpp"

namespace mtnlg::data {

// Writes PREFIX.bin and PREFIX.idx in Megatron's MMIDIDX v1 format. Data goes to PREFIX.bin.tmp /
// PREFIX.idx.tmp, renamed into place by finalize(); a writer destroyed without finalize() removes its
// temporary files, so a failed run never leaves a half-written dataset. token_dtype: DType::u16 (GPT-2
// vocabularies) or DType::i32.
class IndexedDatasetWriter {
 public:
  IndexedDatasetWriter(const std::filesystem::path& prefix, mtnlg::DType token_dtype);
  ~IndexedDatasetWriter();
  IndexedDatasetWriter(const IndexedDatasetWriter&) = delete;
  IndexedDatasetWriter& operator=(const IndexedDatasetWriter&) = delete;

  void add_document(std::span<const std::int32_t> tokens);  // one sequence = one document; error if a token
                                                            // does not fit the dtype
  void finalize();

 private:
  void remove_temporaries() noexcept;

  std::filesystem::path bin_path_, idx_path_, bin_tmp_, idx_tmp_;
  mtnlg::DType dtype_;
  std::FILE* bin_ = nullptr;
  std::vector<std::int32_t> lengths_;  // one per sequence (= document)
  bool finalized_ = false;
};

// Reads a dataset with mmap. Errors (mtnlg::Error) name the file and what is wrong: missing file, bad magic,
// unsupported version or dtype, truncated .idx, .bin shorter than the pointers/lengths say, inconsistent
// document indices.
class IndexedDataset {
 public:
  static IndexedDataset open(const std::filesystem::path& prefix);

  IndexedDataset(IndexedDataset&& other) noexcept;
  IndexedDataset& operator=(IndexedDataset&& other) noexcept;
  IndexedDataset(const IndexedDataset&) = delete;
  IndexedDataset& operator=(const IndexedDataset&) = delete;
  ~IndexedDataset();

  const std::filesystem::path& prefix() const { return prefix_; }
  std::size_t sequence_count() const { return lengths_.size(); }
  std::size_t document_count() const {
    return document_indices_.size() - 1;
  }  // Megatron: document_indices has
     // document_count + 1 entries
  std::span<const std::int32_t> sequence_lengths() const { return lengths_; }
  std::span<const std::int64_t> document_indices() const { return document_indices_; }
  mtnlg::DType token_dtype() const { return dtype_; }
  // Tokens [offset, offset + length) of sequence i, widened to int32.
  std::vector<std::int32_t> tokens(std::size_t i, std::size_t offset, std::size_t length) const;

 private:
  // A read-only private mapping of a whole file; empty files are not mapped (mmap refuses length 0).
  struct Mapping {
    const std::byte* data = nullptr;
    std::size_t size = 0;
  };
  IndexedDataset() = default;
  static Mapping map_file(const std::filesystem::path& file);
  static void unmap(Mapping& m) noexcept;
  std::int64_t pointer(std::size_t i) const;

  std::filesystem::path prefix_;
  Mapping idx_, bin_;
  mtnlg::DType dtype_ = mtnlg::DType::i32;
  // Copied out of the .idx: the arrays start at byte 34, so they are never aligned for int32/int64 in the
  // mapping and cannot be handed out as spans in place. The pointers stay in the mapping (read with memcpy).
  std::vector<std::int32_t> lengths_;           // (S,)
  std::vector<std::int64_t> document_indices_;  // (D,) = (documents + 1,)
  std::size_t pointers_offset_ = 0;             // byte offset of the int64[S] pointers in the .idx
};

}  // namespace mtnlg::data
