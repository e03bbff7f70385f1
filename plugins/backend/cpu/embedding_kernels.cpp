// Token and position embeddings. The forward pass gathers one table row per token. The backward pass
// scatters each token's gradient back into its table row; to stay deterministic without atomics it first
// groups the token positions by table row (a stable counting sort, so each row's positions stay in order),
// then gives every table row to exactly one task, which sums that row's gradients in position order. The
// result therefore never depends on the partition or the thread count.
//
// A tensor-parallel slice of the table (full_rows ≠ 0) holds rows [row_offset, row_offset + rows) of the full
// table: the forward pass gives a token outside the slice a zero row (plus its position term), and the
// backward pass groups only the tokens inside the slice; dpositions is summed over every token as before.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

// The token ids (B, T) and the range [0, limit) they must lie in: a token outside the vocabulary is a data
// error the argument checks cannot see, so it is reported here with its position and value.
struct TokenIds {
  const char* op;
  const Tensor& tokens;
  std::int64_t limit;
  const char* limit_name;  // "valid_rows", "rows" or "full_rows"
  const char* table_name;
  const Tensor& table;

  std::int64_t at(std::int64_t pos) const {
    const std::int64_t id = tokens.data_as<std::int32_t>()[pos], t_len = tokens.dim(1);
    MTNLG_CHECK(
        id >= 0 && id < limit,
        str(op, ": tokens[", pos / t_len, ", ", pos % t_len, "] = ", id, " is outside [0, ", limit_name,
            ") = [0, ", limit, ") for ", table_name, " ", table.describe(),
            "; the token ids do not match the model's vocabulary (check the tokenizer and the data)"));
    return id;
  }
};

template <class T>
void embedding_typed(const ops::EmbeddingArgs& args, ThreadPool& pool) {
  const T* table = args.table.data_as<T>();                                               // (rows, C)
  const T* positions = args.positions.defined() ? args.positions.data_as<T>() : nullptr;  // (≥ T, C)
  T* out = args.out.data_as<T>();                                                         // (B, T, C)
  const std::int64_t t_len = args.tokens.dim(1), c = args.table.dim(1);
  // The slice's rows [first_row, end_row) of the full table; the whole table when full_rows = 0.
  const std::int64_t first_row = args.full_rows == 0 ? 0 : args.row_offset;
  const std::int64_t end_row = first_row + args.table.dim(0);
  const TokenIds ids{"embedding", args.tokens, args.valid_rows, "valid_rows", "table", args.table};
  pool.parallel_for(args.tokens.numel(), row_grain(c), [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const std::int64_t id = ids.at(p);
      T* dst = out + p * c;
      const T* pos = positions ? positions + (p % t_len) * c : nullptr;
      if (id < first_row || id >= end_row) {  // another slice's row: only the position term
        if (pos)
          std::copy(pos, pos + c, dst);
        else
          std::fill(dst, dst + c, T{});
        continue;
      }
      const T* row = table + (id - first_row) * c;
      if (pos) {
        for (std::int64_t j = 0; j < c; ++j) dst[j] = store<T>(load(row[j]) + load(pos[j]));
      } else {
        std::copy(row, row + c, dst);
      }
    }
  });
}

void embedding_kernel(const ops::EmbeddingArgs& args, ExecContext& ctx) {
  visit_floating("embedding", args.dtype(),
                 [&](auto tag) { embedding_typed<decltype(tag)>(args, pool_of(ctx)); });
}

// dtable[r, :] += Σ dout[p, :] over the positions p holding token r (token first_row + r for a slice), in
// increasing p; sums in double.
template <class T>
void scatter_table_gradient(const ops::EmbeddingBackwardArgs& args, ThreadPool& pool) {
  const T* dout = args.dout.data_as<T>();  // (B·T, C)
  T* dtable = args.dtable.data_as<T>();    // (rows, C)
  const std::int64_t n = args.tokens.numel(), rows = args.dtable.dim(0), c = args.dtable.dim(1);
  const bool sliced = args.full_rows != 0;
  const std::int64_t first_row = sliced ? args.row_offset : 0;

  // Positions grouped by local row: those of row r are order[first[r] .. first[r + 1]), increasing. Tokens
  // outside the slice (ids[p] = -1) are in no group.
  const TokenIds token_ids =
      sliced ? TokenIds{"embedding_backward", args.tokens, args.full_rows, "full_rows", "dtable", args.dtable}
             : TokenIds{"embedding_backward", args.tokens, rows, "rows", "dtable", args.dtable};
  std::vector<std::int64_t> first(static_cast<std::size_t>(rows + 1), 0), ids(static_cast<std::size_t>(n));
  for (std::int64_t p = 0; p < n; ++p) {
    const std::int64_t r = token_ids.at(p) - first_row;
    ids[p] = r >= 0 && r < rows ? r : -1;
    if (ids[p] >= 0) ++first[ids[p] + 1];
  }
  for (std::int64_t r = 0; r < rows; ++r) first[r + 1] += first[r];
  std::vector<std::int64_t> order(static_cast<std::size_t>(first[rows])),
      next(first.begin(), first.end() - 1);
  for (std::int64_t p = 0; p < n; ++p)
    if (ids[p] >= 0) order[next[ids[p]]++] = p;
  std::vector<std::int64_t> used;  // the rows some token selects, increasing
  for (std::int64_t r = 0; r < rows; ++r)
    if (first[r + 1] > first[r]) used.push_back(r);
  if (used.empty()) return;

  const auto tasks = static_cast<std::int64_t>(used.size());
  const std::int64_t grain = row_grain(c * ceil_div(first[rows], tasks));  // first[rows]: tokens in the slice
  pool.parallel_for(tasks, grain, [&](std::int64_t u0, std::int64_t u1) {
    std::vector<double> acc(static_cast<std::size_t>(c));  // (C)
    for (std::int64_t u = u0; u < u1; ++u) {
      const std::int64_t r = used[u];
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::int64_t k = first[r]; k < first[r + 1]; ++k) {
        const T* g = dout + order[k] * c;
        for (std::int64_t j = 0; j < c; ++j) acc[j] += load_double(g[j]);
      }
      T* dst = dtable + r * c;
      for (std::int64_t j = 0; j < c; ++j) dst[j] = store<T>(load_double(dst[j]) + acc[j]);
    }
  });
}

// dpositions[t, :] += Σ_b dout[b, t, :], summed over b in order in double; each t is one task's.
template <class T>
void sum_position_gradient(const ops::EmbeddingBackwardArgs& args, ThreadPool& pool) {
  const T* dout = args.dout.data_as<T>();        // (B, T, C)
  T* dpositions = args.dpositions.data_as<T>();  // (≥ T, C)
  const std::int64_t b_len = args.tokens.dim(0), t_len = args.tokens.dim(1), c = args.dout.dim(2);
  pool.parallel_for(t_len, row_grain(c * b_len), [&](std::int64_t t0, std::int64_t t1) {
    std::vector<double> acc(static_cast<std::size_t>(c));  // (C)
    for (std::int64_t t = t0; t < t1; ++t) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::int64_t b = 0; b < b_len; ++b) {
        const T* g = dout + (b * t_len + t) * c;
        for (std::int64_t j = 0; j < c; ++j) acc[j] += load_double(g[j]);
      }
      T* dst = dpositions + t * c;
      for (std::int64_t j = 0; j < c; ++j) dst[j] = store<T>(load_double(dst[j]) + acc[j]);
    }
  });
}

void embedding_backward_kernel(const ops::EmbeddingBackwardArgs& args, ExecContext& ctx) {
  visit_floating("embedding_backward", args.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scatter_table_gradient<T>(args, pool_of(ctx));
    if (args.dpositions.defined()) sum_position_gradient<T>(args, pool_of(ctx));
  });
}

}  // namespace

void register_embedding_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::embedding, &embedding_kernel>(table, floating);
  register_op<ops::embedding_backward, &embedding_backward_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
