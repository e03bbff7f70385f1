// Conformance of the cross-entropy ops: cross_entropy and cross_entropy_backward over padded vocabularies
// (out of place and in place), Megatron's vocabulary-parallel pieces on slices of the vocabulary (including a
// slice of padding only), 16-bit logits with f32 statistics (losses, row max, sums), and targets outside the
// vocabulary raised at synchronize().
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

class LossFixture : public Conformance {
 protected:
  // Runs `key` on both backends, with the arguments `make` builds from one side of each Pair (&Pair::gpu or
  // &Pair::cpu).
  template <class Args, class Make>
  void run_both(const OpKey<Args>& key, Make make) {
    gpu().run(key, make(&Pair::gpu));
    cpu().run(key, make(&Pair::cpu));
  }
  // cross_entropy's losses, in losses_dtype, for logits of dtype dt, over every size.
  void expect_losses_match(DType dt, DType losses_dtype);
};

class CrossEntropyConformance : public LossFixture, public ::testing::WithParamInterface<DType> {};
class VocabParallelCrossEntropyConformance : public LossFixture,
                                             public ::testing::WithParamInterface<DType> {};
class CrossEntropyF32StatisticsConformance : public LossFixture,
                                             public ::testing::WithParamInterface<DType> {};
class CrossEntropyErrors : public LossFixture {};

struct LossSize {
  std::int64_t rows, cols, valid_cols;
};
// Odd sizes, padding columns, and GPT-2's vocabulary padded to a multiple of 128.
const LossSize kSizes[] = {{1, 1, 1}, {5, 33, 33}, {7, 771, 700}, {3, 50304, 50257}};

std::string describe(const LossSize& s) {
  return str("N=", s.rows, " V=", s.cols, " valid_cols=", s.valid_cols);
}

// Columns [offset, offset + width) of a (rows, cols) row-major matrix.
std::vector<double> column_slice(const std::vector<double>& m, std::int64_t rows, std::int64_t cols,
                                 std::int64_t offset, std::int64_t width) {
  std::vector<double> slice(static_cast<std::size_t>(rows * width));
  for (std::int64_t r = 0; r < rows; ++r)
    std::copy_n(m.begin() + r * cols + offset, width, slice.begin() + r * width);
  return slice;
}

// Per row of a (rows, cols) matrix, over its first valid_cols columns: the max and Σ exp(x − max) in f64, as
// the vocabulary-parallel all-reduces would give them.
struct GlobalRowStats {
  std::vector<double> max, sum_exp;
};
GlobalRowStats global_row_stats(const std::vector<double>& m, std::int64_t rows, std::int64_t cols,
                                std::int64_t valid_cols) {
  GlobalRowStats g{std::vector<double>(static_cast<std::size_t>(rows)),
                   std::vector<double>(static_cast<std::size_t>(rows))};
  for (std::int64_t r = 0; r < rows; ++r) {
    const double* row = m.data() + r * cols;
    g.max[r] = *std::max_element(row, row + valid_cols);
    for (std::int64_t j = 0; j < valid_cols; ++j) g.sum_exp[r] += std::exp(row[j] - g.max[r]);
  }
  return g;
}

void LossFixture::expect_losses_match(DType dt, DType losses_dtype) {
  for (const LossSize& s : kSizes) {
    const Pair logits = random({s.rows, s.cols}, dt, -4.0, 4.0);
    const Pair targets = tokens({s.rows}, static_cast<std::int32_t>(s.valid_cols));
    const Pair losses = output({s.rows}, losses_dtype);
    run_both(ops::cross_entropy, [&](Tensor Pair::*on) {
      return ops::CrossEntropyArgs{logits.*on, targets.*on, losses.*on, s.valid_cols};
    });
    expect_close(losses, losses_dtype,
                 str("cross_entropy ", dtype_name(losses_dtype), " losses ", describe(s)));
  }
}

TEST_P(CrossEntropyConformance, LossesMatchCpu) {
  expect_losses_match(GetParam(), GetParam());
}

TEST_P(CrossEntropyConformance, GradientMatchesCpu) {
  const DType dt = GetParam();
  for (const LossSize& s : kSizes)
    for (const bool in_place : {false, true}) {
      const Pair logits = random({s.rows, s.cols}, dt, -4.0, 4.0);
      const Pair targets = tokens({s.rows}, static_cast<std::int32_t>(s.valid_cols));
      const Pair dlogits = in_place ? logits : output({s.rows, s.cols}, dt);
      const double weight = 1.0 / static_cast<double>(s.rows);  // the mean loss's gradient
      run_both(ops::cross_entropy_backward, [&](Tensor Pair::*on) {
        return ops::CrossEntropyBackwardArgs{logits.*on, targets.*on, dlogits.*on, s.valid_cols, weight};
      });
      expect_close(dlogits, dt, str("cross_entropy_backward dlogits ", describe(s), " in_place=", in_place));
    }
}

INSTANTIATE_TEST_SUITE_P(AllFloating, CrossEntropyConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

TEST_P(VocabParallelCrossEntropyConformance, RowMaxMatchesCpu) {
  const DType dt = GetParam();
  // valid_cols = 0: a slice of padding only, whose max is −∞.
  for (const LossSize& s :
       {LossSize{5, 33, 0}, LossSize{5, 33, 33}, LossSize{7, 771, 700}, LossSize{3, 25152, 25105}}) {
    const Pair x = random({s.rows, s.cols}, dt, -4.0, 4.0);
    const Pair out = output({s.rows}, dt);
    run_both(ops::row_max, [&](Tensor Pair::*on) { return ops::RowMaxArgs{x.*on, out.*on, s.valid_cols}; });
    expect_close(out, dt, "row_max " + describe(s));
  }
}

// Full logits (rows, cols) with valid_cols vocabulary columns, split into `ranks` slices of cols/ranks
// columns.
struct VocabSplit {
  std::int64_t rows, cols, valid_cols, ranks;
};
const VocabSplit kSplits[] = {
    {3, 50304, 50257, 2},  // GPT-2's vocabulary on two ranks
    {5, 128, 96, 4},       // the last slice is padding only
    {4, 771, 771, 1},      // one slice: the whole vocabulary
};

// Each rank's row_max, cross_entropy_partial and cross_entropy_partial_backward on its slice, given the
// global row max and sum of exponentials (computed here in f64, as the all-reduces would give them), match
// the CPU's.
TEST_P(VocabParallelCrossEntropyConformance, SlicesMatchCpu) {
  const DType dt = GetParam();
  for (const VocabSplit& split : kSplits) {
    const std::vector<double> full = random({split.rows, split.cols}, dt, -4.0, 4.0).values;
    const Pair targets = tokens({split.rows}, static_cast<std::int32_t>(split.valid_cols));
    const GlobalRowStats g = global_row_stats(full, split.rows, split.cols, split.valid_cols);
    const Pair row_max = from_values({split.rows}, dt, g.max),
               sum_exp = from_values({split.rows}, dt, g.sum_exp);

    const std::int64_t slice_cols = split.cols / split.ranks;
    for (std::int64_t rank = 0; rank < split.ranks; ++rank) {
      const std::int64_t col_offset = rank * slice_cols;
      const std::int64_t valid_cols = std::clamp<std::int64_t>(split.valid_cols - col_offset, 0, slice_cols);
      const std::string what = str(" N=", split.rows, " columns [", col_offset, ", ", col_offset + slice_cols,
                                   ") of ", split.cols, ", valid_cols=", valid_cols);
      const Pair logits = from_values({split.rows, slice_cols}, dt,
                                      column_slice(full, split.rows, split.cols, col_offset, slice_cols));

      const Pair local_max = output({split.rows}, dt);
      run_both(ops::row_max, [&](Tensor Pair::*on) {
        return ops::RowMaxArgs{logits.*on, local_max.*on, valid_cols};
      });
      expect_close(local_max, dt, "row_max" + what);

      const Pair local_sum = output({split.rows}, dt), target_logit = output({split.rows}, dt);
      run_both(ops::cross_entropy_partial, [&](Tensor Pair::*on) {
        return ops::CrossEntropyPartialArgs{logits.*on,       targets.*on, row_max.*on, local_sum.*on,
                                            target_logit.*on, col_offset,  valid_cols};
      });
      expect_close(local_sum, dt, "cross_entropy_partial sum_exp" + what);
      expect_close(target_logit, dt, "cross_entropy_partial target_logit" + what);

      // Odd ranks in place (dlogits = logits): last, as it overwrites the slice.
      const bool in_place = rank % 2 == 1;
      const Pair dlogits = in_place ? logits : output({split.rows, slice_cols}, dt);
      run_both(ops::cross_entropy_partial_backward, [&](Tensor Pair::*on) {
        return ops::CrossEntropyPartialBackwardArgs{logits.*on,  targets.*on, row_max.*on, sum_exp.*on,
                                                    dlogits.*on, col_offset,  valid_cols,  0.5};
      });
      expect_close(dlogits, dt, str("cross_entropy_partial_backward dlogits", what, " in_place=", in_place));
    }
  }
}

TEST_P(VocabParallelCrossEntropyConformance, LossesFromPartsMatchCpu) {
  const DType dt = GetParam();
  for (const std::int64_t rows : {1, 5, 1000})
    for (const bool in_place : {false, true}) {
      const Pair row_max = random({rows}, dt, -4.0, 4.0), sum_exp = random({rows}, dt, 1.0, 100.0),
                 target_logit = random({rows}, dt, -4.0, 4.0);
      // In place: losses is the very same view as sum_exp.
      const Pair losses = in_place ? sum_exp : output({rows}, dt);
      run_both(ops::cross_entropy_from_parts, [&](Tensor Pair::*on) {
        return ops::CrossEntropyFromPartsArgs{row_max.*on, sum_exp.*on, target_logit.*on, losses.*on};
      });
      expect_close(losses, dt, str("cross_entropy_from_parts N=", rows, " in_place=", in_place));
    }
}

INSTANTIATE_TEST_SUITE_P(AllFloating, VocabParallelCrossEntropyConformance,
                         ::testing::ValuesIn(kFloatingDTypes), dtype_param_name);

// 16-bit logits with f32 statistics, as the GPT head computes its loss: the statistics are held to f32's
// tolerance (they are computed in f32 from exact inputs and rounded once), the gradients to the logits'.
TEST_P(CrossEntropyF32StatisticsConformance, MatchesCpu) {
  const DType dt = GetParam(), stats = DType::f32;
  expect_losses_match(dt, stats);
  for (const LossSize& s : kSizes) {
    // Two slices of the columns, the second in place, given the global max and sum.
    const std::int64_t half = s.cols / 2;
    if (half == 0) continue;
    const Pair logits = random({s.rows, s.cols}, dt, -4.0, 4.0);
    const Pair targets = tokens({s.rows}, static_cast<std::int32_t>(s.valid_cols));
    const Pair row_max = output({s.rows}, stats);
    run_both(ops::row_max, [&](Tensor Pair::*on) {
      return ops::RowMaxArgs{logits.*on, row_max.*on, s.valid_cols};
    });
    expect_close(row_max, stats, "row_max f32 out " + describe(s));
    const GlobalRowStats g = global_row_stats(logits.values, s.rows, s.cols, s.valid_cols);
    const Pair global_max = from_values({s.rows}, stats, g.max),
               sum_exp = from_values({s.rows}, stats, g.sum_exp);
    for (std::int64_t rank = 0; rank < 2; ++rank) {
      const std::int64_t col_offset = rank * half, cols = rank == 0 ? half : s.cols - half;
      const std::int64_t valid_cols = std::clamp<std::int64_t>(s.valid_cols - col_offset, 0, cols);
      const Pair part =
          from_values({s.rows, cols}, dt, column_slice(logits.values, s.rows, s.cols, col_offset, cols));
      const std::string what = str(" ", describe(s), " columns [", col_offset, ", ", col_offset + cols, ")");
      const Pair local_sum = output({s.rows}, stats), target_logit = output({s.rows}, stats);
      run_both(ops::cross_entropy_partial, [&](Tensor Pair::*on) {
        return ops::CrossEntropyPartialArgs{part.*on,         targets.*on, global_max.*on, local_sum.*on,
                                            target_logit.*on, col_offset,  valid_cols};
      });
      expect_close(local_sum, stats, "cross_entropy_partial f32 sum_exp" + what);
      expect_close(target_logit, stats, "cross_entropy_partial f32 target_logit" + what);
      const Pair dlogits = rank == 1 ? part : output({s.rows, cols}, dt);
      run_both(ops::cross_entropy_partial_backward, [&](Tensor Pair::*on) {
        return ops::CrossEntropyPartialBackwardArgs{part.*on,    targets.*on, global_max.*on, sum_exp.*on,
                                                    dlogits.*on, col_offset,  valid_cols,     0.5};
      });
      expect_close(dlogits, dt, "cross_entropy_partial_backward with f32 statistics" + what);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SixteenBit, CrossEntropyF32StatisticsConformance,
                         ::testing::Values(DType::bf16, DType::f16), dtype_param_name);

// Queues `run_op` (an op with a bad target) and expects synchronize() to raise an error naming `bad_target`.
template <class RunOp>
void expect_raised_at_synchronize(CudaBackend& backend, RunOp run_op, const std::string& bad_target) {
  run_op();
  try {
    backend.synchronize();
    ADD_FAILURE() << "synchronize() raised no error for target " << bad_target;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad_target), std::string::npos) << e.what();
  }
}

// A target in the vocabulary padding (or negative, for the vocabulary-parallel pieces) is raised at
// synchronize() with its value; the ops write finite values and the backend keeps working afterwards.
TEST_F(CrossEntropyErrors, TargetOutsideTheVocabularyIsRaisedAtSynchronize) {
  const DType dt = DType::f32;
  const std::int64_t rows = 3, cols = 50304, valid_cols = 50257;
  const Pair logits = random({rows, cols}, dt, -4.0, 4.0);
  const Pair padding_target = from_values({rows}, DType::i32, {5, 50300, 2});
  const Pair losses = output({rows}, dt), dlogits = output({rows, cols}, dt);
  expect_raised_at_synchronize(
      gpu(),
      [&] {
        gpu().run(ops::cross_entropy,
                  ops::CrossEntropyArgs{logits.gpu, padding_target.gpu, losses.gpu, valid_cols});
      },
      "50300");
  expect_raised_at_synchronize(
      gpu(),
      [&] {
        gpu().run(ops::cross_entropy_backward,
                  ops::CrossEntropyBackwardArgs{logits.gpu, padding_target.gpu, dlogits.gpu, valid_cols});
      },
      "50300");
  for (const double v : gpu_values(losses.gpu)) ASSERT_TRUE(std::isfinite(v)) << "cross_entropy wrote " << v;
  for (const double v : gpu_values(dlogits.gpu))
    ASSERT_TRUE(std::isfinite(v)) << "cross_entropy_backward wrote " << v;

  const Pair negative_target = from_values({rows}, DType::i32, {5, -3, 2});
  const Pair row_max = random({rows}, dt, 4.0, 5.0), sum_exp = random({rows}, dt, 1.0, 2.0);
  const Pair local_sum = output({rows}, dt), target_logit = output({rows}, dt);
  expect_raised_at_synchronize(
      gpu(),
      [&] {
        gpu().run(ops::cross_entropy_partial,
                  ops::CrossEntropyPartialArgs{logits.gpu, negative_target.gpu, row_max.gpu, local_sum.gpu,
                                               target_logit.gpu, 0, valid_cols});
      },
      "-3");
  expect_raised_at_synchronize(
      gpu(),
      [&] {
        gpu().run(ops::cross_entropy_partial_backward,
                  ops::CrossEntropyPartialBackwardArgs{logits.gpu, negative_target.gpu, row_max.gpu,
                                                       sum_exp.gpu, dlogits.gpu, 0, valid_cols});
      },
      "-3");

  // Given the whole vocabulary's size, a target beyond it is an error on any slice.
  expect_raised_at_synchronize(
      gpu(),
      [&] {
        ops::CrossEntropyPartialArgs args{
            logits.gpu, padding_target.gpu, row_max.gpu, local_sum.gpu, target_logit.gpu, 0, 25152};
        args.vocab_size = valid_cols;
        gpu().run(ops::cross_entropy_partial, args);
      },
      "50300");
  expect_raised_at_synchronize(
      gpu(),
      [&] {
        ops::CrossEntropyPartialBackwardArgs args{
            logits.gpu, padding_target.gpu, row_max.gpu, sum_exp.gpu, dlogits.gpu, 0, valid_cols};
        args.vocab_size = valid_cols;
        gpu().run(ops::cross_entropy_partial_backward, args);
      },
      "50300");

  // The error is cleared: a valid op runs and matches the CPU.
  const Pair targets = tokens({rows}, static_cast<std::int32_t>(valid_cols));
  const Pair good_losses = output({rows}, dt);
  run_both(ops::cross_entropy, [&](Tensor Pair::*on) {
    return ops::CrossEntropyArgs{logits.*on, targets.*on, good_losses.*on, valid_cols};
  });
  expect_close(good_losses, dt, "cross_entropy losses after an error");
  EXPECT_NO_THROW(gpu().synchronize());
}

}  // namespace
}  // namespace mtnlg::cuda::test
