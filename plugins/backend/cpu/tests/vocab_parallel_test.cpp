// The ops of Megatron's vocabulary-parallel embedding and cross-entropy, against the whole-vocabulary ops:
// a table or logits split into 1, 2 and 4 column (row) slices, with the all-reduces done here on the host,
// must give the whole op's results. Sizes are odd and padded so that one slice is partly vocabulary padding
// and, with 4 slices, the last is padding only.
#include <limits>

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

// |got − want| ≤ rel · magnitude for each element (magnitude at least 1e-300).
void expect_near(const std::vector<double>& got, const std::vector<double>& want,
                 const std::vector<double>& magnitude, double rel, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int reported = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(got[i] - want[i]), bound = rel * std::max(magnitude[i], 1e-300);
    if (!(err <= bound) && reported++ < 5)
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i] << " (error "
                    << err << " > bound " << bound << ")";
  }
}

// Slice boundaries [bounds[s], bounds[s + 1]) of `total` rows or columns in `count` equal slices.
std::vector<std::int64_t> equal_slices(std::int64_t total, std::int64_t count) {
  std::vector<std::int64_t> bounds;
  for (std::int64_t s = 0; s <= count; ++s) bounds.push_back(s * total / count);
  return bounds;
}

// Columns [c0, c1) of a row-major (n, v) matrix.
template <class T>
std::vector<T> columns(const std::vector<T>& x, std::int64_t n, std::int64_t v, std::int64_t c0,
                       std::int64_t c1) {
  std::vector<T> out;
  for (std::int64_t r = 0; r < n; ++r) out.insert(out.end(), x.begin() + r * v + c0, x.begin() + r * v + c1);
  return out;
}

// ---- embedding and embedding_backward on table slices ------------------------------------------------

struct SlicedEmbeddingSize {
  std::int64_t b, t, c, full_rows, valid_rows;
};
// full_rows 12 with 10 valid: with 4 slices of 3 rows the last slice holds one real row and two padding rows.
// full_rows 8 with 5 valid: with 4 slices the last slice (rows 6, 7) is padding only.
const std::vector<SlicedEmbeddingSize> kSlicedEmbeddingSizes = {{3, 7, 5, 12, 10}, {2, 9, 17, 8, 5}};

template <class T>
class CpuSlicedEmbedding : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuSlicedEmbedding, FloatTypes, DTypeNames);

// The sum of the slices' outputs, with the position term added on slice 0 only, is the whole table's
// output; with positions on every slice, a token outside the slice gets exactly its position row.
TYPED_TEST(CpuSlicedEmbedding, SlicesSumToTheWholeOutput) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  for (const auto& [bs, t, c, full, valid] : kSlicedEmbeddingSizes) {
    const auto tokens = random_tokens(bs * t, static_cast<std::int32_t>(valid), seed++);
    const auto table = random_values<T>(full * c, seed++), positions = random_values<T>((t + 1) * c, seed++);
    const Tensor tok = to_device(b, {bs, t}, tokens), pos = to_device(b, {t + 1, c}, positions);
    Tensor whole = b.empty({bs, t, c}, dtype_of<T>());
    b.run(ops::embedding, ops::EmbeddingArgs{tok, to_device(b, {full, c}, table), pos, whole, valid});
    const auto want = to_host<T>(b, whole);
    for (std::int64_t count : {1, 2, 4}) {
      const auto bounds = equal_slices(full, count);
      std::vector<T> sum(static_cast<std::size_t>(bs * t * c), T(0));
      for (std::int64_t s = 0; s < count; ++s) {
        const std::int64_t r0 = bounds[s], r1 = bounds[s + 1];
        const Tensor slice =
            to_device(b, {r1 - r0, c}, std::vector<T>(table.begin() + r0 * c, table.begin() + r1 * c));
        Tensor out = b.empty({bs, t, c}, dtype_of<T>()), out_pos = b.empty({bs, t, c}, dtype_of<T>());
        b.run(ops::embedding, ops::EmbeddingArgs{tok, slice, s == 0 ? pos : Tensor(), out, valid, r0, full});
        b.run(ops::embedding, ops::EmbeddingArgs{tok, slice, pos, out_pos, valid, r0, full});
        const auto got = to_host<T>(b, out), got_pos = to_host<T>(b, out_pos);
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += got[i];
        for (std::int64_t p = 0; p < bs * t; ++p) {
          const bool inside = tokens[p] >= r0 && tokens[p] < r1;
          for (std::int64_t j = 0; j < c; ++j) {
            const T row = inside ? table[tokens[p] * c + j] : T(0), q = positions[(p % t) * c + j];
            ASSERT_EQ(got_pos[p * c + j], inside ? T(row + q) : q)
                << "slice " << s << " of " << count << ", position " << p << ", column " << j;
          }
        }
      }
      // One slice holds each token's row, the others add exact zeros: the same bits as the whole op.
      EXPECT_TRUE(bitwise_equal(sum, want)) << count << " slices, full_rows=" << full << " valid=" << valid;
    }
  }
}

// The slices' dtables, concatenated, are the whole dtable (each row summed in the same order); every slice
// computes the whole dpositions.
TYPED_TEST(CpuSlicedEmbedding, SliceGradientsConcatenateToTheWholeGradient) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 100;
  for (const auto& [bs, t, c, full, valid] : kSlicedEmbeddingSizes) {
    // Tokens in [0, valid): the padding rows get no gradient.
    const auto tokens = random_tokens(bs * t, static_cast<std::int32_t>(valid), seed++);
    const auto dout = random_values<T>(bs * t * c, seed++);
    // The gradients accumulate (+=) into what is there.
    const auto dtable0 = random_values<T>(full * c, seed++), dpos0 = random_values<T>((t + 1) * c, seed++);
    const Tensor tok = to_device(b, {bs, t}, tokens), g = to_device(b, {bs, t, c}, dout);
    Tensor dtable = to_device(b, {full, c}, dtable0), dpos = to_device(b, {t + 1, c}, dpos0);
    b.run(ops::embedding_backward, ops::EmbeddingBackwardArgs{tok, g, dtable, dpos});
    const auto want_table = to_host<T>(b, dtable), want_pos = to_host<T>(b, dpos);
    for (std::int64_t count : {1, 2, 4}) {
      const auto bounds = equal_slices(full, count);
      std::vector<T> concatenated;
      for (std::int64_t s = 0; s < count; ++s) {
        const std::int64_t r0 = bounds[s], r1 = bounds[s + 1];
        Tensor slice =
            to_device(b, {r1 - r0, c}, std::vector<T>(dtable0.begin() + r0 * c, dtable0.begin() + r1 * c));
        Tensor slice_pos = to_device(b, {t + 1, c}, dpos0);
        b.run(ops::embedding_backward, ops::EmbeddingBackwardArgs{tok, g, slice, slice_pos, r0, full});
        const auto got = to_host<T>(b, slice);
        concatenated.insert(concatenated.end(), got.begin(), got.end());
        EXPECT_TRUE(bitwise_equal(to_host<T>(b, slice_pos), want_pos))
            << "dpositions of slice " << s << " of " << count;
      }
      EXPECT_TRUE(bitwise_equal(concatenated, want_table))
          << count << " slices, full_rows=" << full << " valid=" << valid;
    }
  }
}

// The default fields (row_offset 0, full_rows 0) and a single slice covering the whole table
// (row_offset 0, full_rows = rows) are today's whole-table op.
TEST(CpuSlicedEmbeddingWhole, OneSliceIsTheWholeTable) {
  auto backend = make_backend();
  Backend& b = *backend;
  const std::int64_t bs = 2, t = 5, c = 3, rows = 6;
  const Tensor tok = to_device(b, {bs, t}, random_tokens(bs * t, rows, 1));
  const Tensor table = to_device(b, {rows, c}, random_values<double>(rows * c, 2));
  Tensor whole = b.empty({bs, t, c}, DType::f64), sliced = b.empty({bs, t, c}, DType::f64);
  b.run(ops::embedding, ops::EmbeddingArgs{tok, table, Tensor(), whole, rows});
  b.run(ops::embedding, ops::EmbeddingArgs{tok, table, Tensor(), sliced, rows, 0, rows});
  EXPECT_TRUE(bitwise_equal(to_host<double>(b, whole), to_host<double>(b, sliced)));
}

// ---- row_max -------------------------------------------------------------------------------------------

template <class T>
class CpuRowMax : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuRowMax, FloatTypes, DTypeNames);

TYPED_TEST(CpuRowMax, MaxOverTheValidColumns) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  for (const auto& [n, v] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {7, 12}, {33, 65}})
    for (std::int64_t valid : {v, v - 1, std::int64_t{1}, std::int64_t{0}}) {
      if (valid < 0) continue;
      auto x = random_values<T>(n * v, seed++, -5.0, 5.0);
      for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t j = valid; j < v; ++j) x[r * v + j] = T(1e4);  // padding: ignored
      Tensor out = b.empty({n}, dtype_of<T>());
      b.run(ops::row_max, ops::RowMaxArgs{to_device(b, {n, v}, x), out, valid});
      const auto got = to_host<T>(b, out);
      for (std::int64_t r = 0; r < n; ++r) {
        T want = -std::numeric_limits<T>::infinity();
        for (std::int64_t j = 0; j < valid; ++j) want = std::max(want, x[r * v + j]);
        EXPECT_EQ(got[r], want) << "row " << r << " N=" << n << " V=" << v << " valid_cols=" << valid;
      }
    }
}

// ---- the partial cross-entropy pieces against cross_entropy and cross_entropy_backward -----------------

struct VocabSize {
  std::int64_t n, v, valid;
};
// With 2 slices the second is partly padding; with 4 slices: (7, 12, 10) has a last slice with one real
// column, (7, 12, 7) and (7, 16, 11) a last slice of padding only, (1, 4, 1) three slices of padding only.
const std::vector<VocabSize> kVocabSizes = {{7, 12, 10}, {7, 12, 7}, {7, 16, 11}, {1, 4, 1}, {17, 36, 33}};

// Logits in [-3, 3), shifted by up to ±800 per row (the log-sum-exp must subtract the max), with huge values
// in the padding columns that must be ignored.
template <class T>
std::vector<T> vocab_logits(std::int64_t n, std::int64_t v, std::int64_t valid, std::uint64_t seed) {
  auto x = random_values<T>(n * v, seed, -3.0, 3.0);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t j = 0; j < v; ++j) x[r * v + j] += j >= valid ? T(1e4) : T(800.0 * ((r % 3) - 1));
  return x;
}

// One tensor-parallel "rank" per slice of the columns, and the collectives done on the host in slice order.
template <class T>
struct VocabParallelRun {
  std::vector<T> losses, dlogits;  // (N) and the slices' dlogits concatenated back into (N, V)
};

template <class T>
VocabParallelRun<T> run_vocab_parallel(Backend& b, const std::vector<T>& logits,
                                       const std::vector<std::int32_t>& targets, const VocabSize& size,
                                       std::int64_t count, double weight, bool in_place) {
  const auto [n, v, valid] = size;
  const auto bounds = equal_slices(v, count);
  const DType dt = dtype_of<T>();
  std::vector<Tensor> slices;
  std::vector<std::int64_t> offsets, valids;
  for (std::int64_t s = 0; s < count; ++s) {
    const std::int64_t c0 = bounds[s], c1 = bounds[s + 1];
    slices.push_back(to_device(b, {n, c1 - c0}, columns(logits, n, v, c0, c1)));
    offsets.push_back(c0);
    valids.push_back(std::clamp<std::int64_t>(valid - c0, 0, c1 - c0));
  }
  const Tensor tg = to_device(b, {n}, targets);

  // all-reduce MAX of the local row maxima.
  std::vector<T> max(static_cast<std::size_t>(n), -std::numeric_limits<T>::infinity());
  for (std::int64_t s = 0; s < count; ++s) {
    Tensor local = b.empty({n}, dt);
    b.run(ops::row_max, ops::RowMaxArgs{slices[s], local, valids[s]});
    const auto m = to_host<T>(b, local);
    for (std::int64_t r = 0; r < n; ++r) max[r] = std::max(max[r], m[r]);
  }
  const Tensor row_max = to_device(b, {n}, max);

  // all-reduce SUM of the partial sums and target logits.
  std::vector<T> sum(static_cast<std::size_t>(n), T(0)), target(static_cast<std::size_t>(n), T(0));
  for (std::int64_t s = 0; s < count; ++s) {
    Tensor sum_exp = b.empty({n}, dt), target_logit = b.empty({n}, dt);
    b.run(ops::cross_entropy_partial,
          ops::CrossEntropyPartialArgs{slices[s], tg, row_max, sum_exp, target_logit, offsets[s], valids[s]});
    const auto se = to_host<T>(b, sum_exp), tl = to_host<T>(b, target_logit);
    for (std::int64_t r = 0; r < n; ++r) {
      sum[r] += se[r];
      target[r] += tl[r];
    }
  }
  const Tensor sum_exp = to_device(b, {n}, sum);
  Tensor losses = to_device(b, {n}, target);  // computed in place over target_logit
  b.run(ops::cross_entropy_from_parts, ops::CrossEntropyFromPartsArgs{row_max, sum_exp, losses, losses});

  VocabParallelRun<T> result{to_host<T>(b, losses), std::vector<T>(static_cast<std::size_t>(n * v))};
  for (std::int64_t s = 0; s < count; ++s) {
    const std::int64_t c0 = bounds[s], c1 = bounds[s + 1];
    Tensor d = in_place ? slices[s] : b.empty({n, c1 - c0}, dt);
    b.run(ops::cross_entropy_partial_backward,
          ops::CrossEntropyPartialBackwardArgs{slices[s], tg, row_max, sum_exp, d, offsets[s], valids[s],
                                               weight});
    const auto got = to_host<T>(b, d);
    for (std::int64_t r = 0; r < n; ++r)
      std::copy(got.begin() + r * (c1 - c0), got.begin() + (r + 1) * (c1 - c0),
                result.dlogits.begin() + r * v + c0);
  }
  return result;
}

template <class T>
class CpuVocabParallelCrossEntropy : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuVocabParallelCrossEntropy, FloatTypes, DTypeNames);

TYPED_TEST(CpuVocabParallelCrossEntropy, SlicesGiveTheWholeLossAndGradient) {
  using T = TypeParam;
  Backend& b = *this->backend;
  // f64: one slice is the same computation (the same bits); more slices only sum in another order. f32: the
  // sum of exponentials is rounded to f32 between the ops.
  const double rel = sizeof(T) == 4 ? 1e-5 : 1e-14, weight = 0.125;
  std::uint64_t seed = 1;
  for (const VocabSize& size : kVocabSizes) {
    const auto [n, v, valid] = size;
    const auto logits = vocab_logits<T>(n, v, valid, seed++);
    const auto targets = random_tokens(n, static_cast<std::int32_t>(valid), seed++);
    const Tensor lt = to_device(b, {n, v}, logits), tg = to_device(b, {n}, targets);
    Tensor losses = b.empty({n}, dtype_of<T>()), dlogits = b.empty({n, v}, dtype_of<T>());
    b.run(ops::cross_entropy, ops::CrossEntropyArgs{lt, tg, losses, valid});
    b.run(ops::cross_entropy_backward, ops::CrossEntropyBackwardArgs{lt, tg, dlogits, valid, weight});
    const auto want_losses = widen(to_host<T>(b, losses)), want_dlogits = widen(to_host<T>(b, dlogits));

    // Magnitudes: a loss is log Σ + max − target, with |max| and |target| up to ~800; a gradient is
    // weight·(p − hit), whose cancellation near p = 1 is bounded by weight.
    std::vector<double> loss_mag(n), grad_mag(n * v);
    for (std::int64_t r = 0; r < n; ++r) {
      loss_mag[r] =
          std::abs(want_losses[r]) + 2.0 * std::abs(static_cast<double>(logits[r * v + targets[r]]));
      for (std::int64_t j = 0; j < v; ++j)
        grad_mag[r * v + j] = std::abs(want_dlogits[r * v + j]) + (j == targets[r] ? weight : 0.0);
    }
    for (std::int64_t count : {1, 2, 4})
      for (bool in_place : {false, true}) {
        const auto got = run_vocab_parallel<T>(b, logits, targets, size, count, weight, in_place);
        const std::string what =
            str(" N=", n, " V=", v, " valid=", valid, " slices=", count, " in_place=", in_place);
        if (sizeof(T) == 8 && count == 1) {
          EXPECT_TRUE(bitwise_equal(widen(got.losses), want_losses)) << "losses" << what;
          EXPECT_TRUE(bitwise_equal(widen(got.dlogits), want_dlogits)) << "dlogits" << what;
        }
        expect_near(widen(got.losses), want_losses, loss_mag, rel, "losses" + what);
        expect_near(widen(got.dlogits), want_dlogits, grad_mag, rel, "dlogits" + what);
        // The padding columns' gradient is exactly 0.
        for (std::int64_t r = 0; r < n; ++r)
          for (std::int64_t j = valid; j < v; ++j) ASSERT_EQ(got.dlogits[r * v + j], T(0)) << what;
      }
  }
}

// The pieces' own definitions on a hand-made slice: a target outside the slice or in its padding gives 0,
// valid_cols = 0 gives an empty sum, and the backward subtracts 1 only at the target's local column.
TEST(CpuVocabParallelPieces, TargetsOutsideTheSliceAndPadding) {
  auto backend = make_backend();
  Backend& b = *backend;
  // Columns [4, 8) of the full logits, of which local columns 0, 1 are real vocabulary (full valid = 6).
  const std::int64_t n = 4, vl = 4, offset = 4, valid = 2;
  const std::vector<double> x = {0.5, -1.0, 9.0, 9.0,  //
                                 2.0, 1.0,  9.0, 9.0,  //
                                 0.0, 0.25, 9.0, 9.0,  //
                                 1.5, 3.0,  9.0, 9.0};
  // Row 0: target 4 (local 0); row 1: target 5 (local 1); row 2: target 1 (another slice); row 3: 7 would be
  // padding (never a real target, but still only counted when local < valid_cols).
  const std::vector<std::int32_t> targets = {4, 5, 1, 7};
  const std::vector<double> max = {3.0, 2.0, 1.0, 4.0};
  const Tensor lt = to_device(b, {n, vl}, x), tg = to_device(b, {n}, targets), rm = to_device(b, {n}, max);
  Tensor sum_exp = b.empty({n}, DType::f64), target_logit = b.empty({n}, DType::f64);
  b.run(ops::cross_entropy_partial,
        ops::CrossEntropyPartialArgs{lt, tg, rm, sum_exp, target_logit, offset, valid});
  const auto se = to_host<double>(b, sum_exp), tl = to_host<double>(b, target_logit);
  for (std::int64_t r = 0; r < n; ++r)
    EXPECT_DOUBLE_EQ(se[r], std::exp(x[r * vl] - max[r]) + std::exp(x[r * vl + 1] - max[r])) << r;
  EXPECT_EQ(tl, (std::vector<double>{0.5, 1.0, 0.0, 0.0}));

  Tensor dlogits = b.empty({n, vl}, DType::f64);
  b.run(ops::cross_entropy_partial_backward,
        ops::CrossEntropyPartialBackwardArgs{lt, tg, rm, sum_exp, dlogits, offset, valid, 2.0});
  const auto d = to_host<double>(b, dlogits);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t j = 0; j < vl; ++j) {
      const double p = j < valid ? std::exp(x[r * vl + j] - max[r]) / se[r] : 0.0;
      const double hit = j < valid && j + offset == targets[r] ? 1.0 : 0.0;
      EXPECT_DOUBLE_EQ(d[r * vl + j], j < valid ? 2.0 * (p - hit) : 0.0) << r << ", " << j;
    }

  // A slice of padding only: the sum is empty and no target is here.
  b.run(ops::cross_entropy_partial,
        ops::CrossEntropyPartialArgs{lt, tg, rm, sum_exp, target_logit, offset, 0});
  EXPECT_EQ(to_host<double>(b, sum_exp), std::vector<double>(n, 0.0));
  EXPECT_EQ(to_host<double>(b, target_logit), std::vector<double>(n, 0.0));
  b.run(ops::cross_entropy_partial_backward,
        ops::CrossEntropyPartialBackwardArgs{lt, tg, rm, sum_exp, dlogits, offset, 0, 2.0});
  EXPECT_EQ(to_host<double>(b, dlogits), std::vector<double>(n * vl, 0.0));

  // losses = log(sum_exp) + row_max − target_logit, elementwise.
  const std::vector<double> parts_sum = {1.5, 2.0, 0.25, 7.0}, parts_target = {0.5, -1.0, 2.0, 3.0};
  Tensor losses = b.empty({n}, DType::f64);
  b.run(ops::cross_entropy_from_parts,
        ops::CrossEntropyFromPartsArgs{rm, to_device(b, {n}, parts_sum), to_device(b, {n}, parts_target),
                                       losses});
  const auto l = to_host<double>(b, losses);
  for (std::int64_t r = 0; r < n; ++r)
    EXPECT_DOUBLE_EQ(l[r], std::log(parts_sum[r]) + max[r] - parts_target[r]) << r;
}

}  // namespace
}  // namespace mtnlg::cpu::test
