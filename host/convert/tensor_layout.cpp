#include "convert/tensor_layout.hpp"

#include <cstring>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

std::vector<std::byte> transposed(std::span<const std::byte> data, std::int64_t rows, std::int64_t cols,
                                  std::size_t element_size) {
  MTNLG_CHECK(data.size() == static_cast<std::size_t>(rows * cols) * element_size,
              str("transpose: ", data.size(), " bytes is not ", rows, " × ", cols, " elements"));
  std::vector<std::byte> out(data.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      std::memcpy(&out[static_cast<std::size_t>(c * rows + r) * element_size],
                  &data[static_cast<std::size_t>(r * cols + c) * element_size], element_size);
  return out;
}

std::vector<std::byte> first_rows(std::span<const std::byte> data, std::int64_t rows, std::size_t row_bytes) {
  const std::size_t bytes = static_cast<std::size_t>(rows) * row_bytes;
  MTNLG_CHECK(bytes <= data.size(), str("first_rows: ", rows, " rows do not fit in ", data.size(), " bytes"));
  return {data.begin(), data.begin() + static_cast<std::ptrdiff_t>(bytes)};
}

std::vector<std::byte> qkv_rows_reordered(std::span<const std::byte> data, std::int64_t heads,
                                          std::int64_t head_dim, std::size_t row_bytes, bool to_gpt2) {
  const std::int64_t hidden = heads * head_dim;
  MTNLG_CHECK(data.size() == static_cast<std::size_t>(3 * hidden) * row_bytes,
              str("qkv: ", data.size(), " bytes is not 3 × ", hidden, " rows of ", row_bytes, " bytes"));
  std::vector<std::byte> out(data.size());
  for (std::int64_t h = 0; h < heads; ++h)
    for (std::int64_t part = 0; part < 3; ++part)  // q, k, v
      for (std::int64_t j = 0; j < head_dim; ++j) {
        const std::int64_t per_head = h * 3 * head_dim + part * head_dim + j;  // mtnlg
        const std::int64_t grouped = part * hidden + h * head_dim + j;         // GPT-2
        const std::int64_t from = to_gpt2 ? per_head : grouped, to = to_gpt2 ? grouped : per_head;
        std::memcpy(&out[static_cast<std::size_t>(to) * row_bytes],
                    &data[static_cast<std::size_t>(from) * row_bytes], row_bytes);
      }
  return out;
}

}  // namespace mtnlg::host
