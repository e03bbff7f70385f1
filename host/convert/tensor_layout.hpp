#pragma once
// Row-major byte-level rearrangements between mtnlg's and Hugging Face GPT-2's parameter layouts. They move
// elements of `element_size` bytes without looking at them, so values (and NaN payloads) are kept bit for
// bit.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mtnlg::host {

// (rows, cols) → (cols, rows).
std::vector<std::byte> transposed(std::span<const std::byte> data, std::int64_t rows, std::int64_t cols,
                                  std::size_t element_size);

// The first `rows` rows of a row-major matrix of `row_bytes`-byte rows.
std::vector<std::byte> first_rows(std::span<const std::byte> data, std::int64_t rows, std::size_t row_bytes);

// qkv rows (or bias elements) from mtnlg's per-head order [q_h | k_h | v_h] (h = 0..heads-1) to GPT-2's
// [q | k | v] (to_gpt2 = true), or back. `row_bytes`: one row (a weight) or one element (a bias).
std::vector<std::byte> qkv_rows_reordered(std::span<const std::byte> data, std::int64_t heads,
                                          std::int64_t head_dim, std::size_t row_bytes, bool to_gpt2);

}  // namespace mtnlg::host
