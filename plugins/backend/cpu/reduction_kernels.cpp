// Reductions with a fixed summation order. The blocks a sum is split into depend only on the problem size;
// each block is summed sequentially, and the block sums are combined in block order. Which thread computes
// which block, and when it finishes, cannot change a bit of the result, so runs are reproducible and
// threads=1 equals threads=N exactly. Sums accumulate in double for every floating dtype (bf16 and f16
// elements widen exactly), and the result is rounded once to the output's dtype.
#include <algorithm>
#include <vector>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "cpu_kernels.hpp"

namespace mtnlg::cpu {
namespace {

// column_sum: rows are split into RowBlocks (cpu_kernels.hpp), columns into tiles of kColumnTile, and each
// (row block, column tile) is one task.
constexpr std::int64_t kColumnTile = 1024;

// squared_norm: blocks of at least kMinNormBlock elements, at most kMaxNormBlocks of them.
constexpr std::int64_t kMaxNormBlocks = 1024;
constexpr std::int64_t kMinNormBlock = 8192;

template <class T>
void column_sum_typed(const ops::ColumnSumArgs& args, std::int64_t n, ThreadPool& pool) {
  const T* x = args.x.data_as<T>();  // (R, N)
  T* out = args.out.data_as<T>();    // (N)
  const std::int64_t rows = args.x.numel() / n;
  const RowBlocks row_blocks(rows);
  const std::int64_t block_rows = row_blocks.rows_per_block, blocks = row_blocks.count;
  const std::int64_t tiles = ceil_div(n, kColumnTile);

  std::vector<double> partial(static_cast<std::size_t>(blocks * n), 0.0);  // (blocks, N)
  pool.parallel_for(blocks * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t task = t0; task < t1; ++task) {
      const std::int64_t block = task / tiles, tile = task % tiles;
      const std::int64_t r0 = block * block_rows, r1 = std::min(rows, r0 + block_rows);
      const std::int64_t c0 = tile * kColumnTile, c1 = std::min(n, c0 + kColumnTile);
      double* acc = partial.data() + block * n;
      for (std::int64_t r = r0; r < r1; ++r)
        for (std::int64_t c = c0; c < c1; ++c) acc[c] += load_double(x[r * n + c]);
    }
  });
  const double beta = args.beta;
  pool.parallel_for(n, kElementwiseGrain / kMaxRowBlocks, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      double sum = 0.0;
      for (std::int64_t b = 0; b < blocks; ++b) sum += partial[static_cast<std::size_t>(b * n + c)];
      // beta = 0 overwrites without reading out, so an uninitialised out cannot leak NaNs (as BLAS does).
      out[c] = store<T>(beta == 0.0 ? sum : beta * load_double(out[c]) + sum);
    }
  });
}

void column_sum_kernel(const ops::ColumnSumArgs& args, ExecContext& ctx) {
  const std::int64_t n = args.x.dim(-1);
  if (n == 0) return;
  visit_floating("column_sum", args.dtype(),
                 [&](auto tag) { column_sum_typed<decltype(tag)>(args, n, pool_of(ctx)); });
}

// Σ x² over [begin, end) with four interleaved accumulators: a fixed order that still pipelines.
template <class T>
double block_squares(const T* x, std::int64_t begin, std::int64_t end) {
  double lane[4] = {0.0, 0.0, 0.0, 0.0};
  std::int64_t i = begin;
  for (; i + 4 <= end; i += 4)
    for (int l = 0; l < 4; ++l) {
      const double v = load_double(x[i + l]);
      lane[l] += v * v;
    }
  for (; i < end; ++i) {
    const double v = load_double(x[i]);
    lane[0] += v * v;
  }
  return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

template <class T>
void squared_norm_typed(const ops::SquaredNormArgs& args, ThreadPool& pool) {
  const T* x = args.x.data_as<T>();
  const std::int64_t n = args.x.numel();
  const std::int64_t block = std::max(kMinNormBlock, ceil_div(n, kMaxNormBlocks));
  std::vector<double> partial(static_cast<std::size_t>(ThreadPool::chunk_count(n, block)), 0.0);
  pool.parallel_for(n, block, [&](std::int64_t b, std::int64_t e) {
    partial[static_cast<std::size_t>(b / block)] = block_squares(x, b, e);
  });
  double sum = 0.0;
  for (double p : partial) sum += p;
  *args.out.data_as<T>() = store<T>(sum);
}

void squared_norm_kernel(const ops::SquaredNormArgs& args, ExecContext& ctx) {
  visit_floating("squared_norm", args.dtype(),
                 [&](auto tag) { squared_norm_typed<decltype(tag)>(args, pool_of(ctx)); });
}

}  // namespace

void register_reduction_kernels(OpTable& table) {
  const auto floating = {DType::f32, DType::f64, DType::bf16, DType::f16};
  register_op<ops::column_sum, &column_sum_kernel>(table, floating);
  register_op<ops::squared_norm, &squared_norm_kernel>(table, floating);
}

}  // namespace mtnlg::cpu
