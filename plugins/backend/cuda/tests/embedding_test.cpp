// Conformance of embedding and embedding_backward: whole tables and vocabulary-parallel slices, with and
// without the position term, gradients accumulated into existing values, a bitwise reproducible backward
// pass, and token ids outside the vocabulary raised at synchronize().
#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

class EmbeddingFixture : public Conformance {
 protected:
  // Runs `key` on both backends, with the arguments `make` builds from one side of each Pair (&Pair::gpu or
  // &Pair::cpu).
  template <class Args, class Make>
  void run_both(const OpKey<Args>& key, Make make) {
    gpu().run(key, make(&Pair::gpu));
    cpu().run(key, make(&Pair::cpu));
  }
};

class EmbeddingConformance : public EmbeddingFixture, public ::testing::WithParamInterface<DType> {};
class EmbeddingErrors : public EmbeddingFixture {};

struct EmbeddingSize {
  std::int64_t b, t, c, rows, valid_rows;
};
// Odd sizes; a small table for many tokens (each row selected many times); GPT-2's vocabulary padded.
const EmbeddingSize kSizes[] = {
    {1, 1, 1, 1, 1}, {3, 5, 33, 7, 6}, {2, 37, 771, 13, 13}, {4, 64, 33, 50304, 50257}};

std::string describe(const EmbeddingSize& s, bool with_positions) {
  return str("B=", s.b, " T=", s.t, " C=", s.c, " rows=", s.rows, " positions=", with_positions);
}

// Fails with the first differing element unless `a` and `b` are identical.
void expect_identical(const std::vector<double>& a, const std::vector<double>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) {
      ADD_FAILURE() << what << ": element " << i << " is " << a[i] << " in one run and " << b[i]
                    << " in another";
      return;
    }
}

TEST_P(EmbeddingConformance, ForwardMatchesCpu) {
  const DType dt = GetParam();
  for (const EmbeddingSize& s : kSizes)
    for (const bool with_positions : {false, true}) {
      const Pair ids = tokens({s.b, s.t}, static_cast<std::int32_t>(s.valid_rows));
      const Pair table = random({s.rows, s.c}, dt);
      const Pair positions = random({s.t + 3, s.c}, dt);  // (≥ T, C)
      const Pair out = output({s.b, s.t, s.c}, dt);
      run_both(ops::embedding, [&](Tensor Pair::*on) {
        return ops::EmbeddingArgs{ids.*on, table.*on, with_positions ? positions.*on : Tensor(), out.*on,
                                  s.valid_rows};
      });
      expect_close(out, dt, "embedding out " + describe(s, with_positions));
    }
}

TEST_P(EmbeddingConformance, BackwardAccumulatesLikeCpu) {
  const DType dt = GetParam();
  for (const EmbeddingSize& s : kSizes)
    for (const bool with_positions : {false, true}) {
      const Pair ids = tokens({s.b, s.t}, static_cast<std::int32_t>(s.rows));
      const Pair dout = random({s.b, s.t, s.c}, dt);
      // The gradients are added to what is there.
      const Pair dtable = random({s.rows, s.c}, dt);
      const Pair dpositions = random({s.t + 3, s.c}, dt);
      run_both(ops::embedding_backward, [&](Tensor Pair::*on) {
        return ops::EmbeddingBackwardArgs{ids.*on, dout.*on, dtable.*on,
                                          with_positions ? dpositions.*on : Tensor()};
      });
      expect_close(dtable, dt, "embedding_backward dtable " + describe(s, with_positions));
      if (with_positions) expect_close(dpositions, dt, "embedding_backward dpositions " + describe(s, true));
    }
}

// GPT-2's vocabulary (50257 ids, padded to 50304 rows) split over three tensor-parallel ranks: each slice's
// output and gradient match the CPU's, including tokens at the slices' edges.
TEST_P(EmbeddingConformance, VocabularyParallelSlicesMatchCpu) {
  const DType dt = GetParam();
  const std::int64_t b = 3, t = 17, c = 33, full_rows = 50304, valid_rows = 50257, slice_rows = full_rows / 3;
  std::vector<double> id_values = tokens({b, t}, static_cast<std::int32_t>(valid_rows)).values;
  const std::int64_t edges[] = {
      0, slice_rows - 1, slice_rows, 2 * slice_rows - 1, 2 * slice_rows, valid_rows - 1};
  for (std::size_t i = 0; i < std::size(edges); ++i) id_values[i * 5] = static_cast<double>(edges[i]);
  const Pair ids = from_values({b, t}, DType::i32, id_values);
  for (std::int64_t rank = 0; rank < 3; ++rank) {
    const std::int64_t row_offset = rank * slice_rows;
    const bool with_positions = rank != 1;  // the middle slice without: other slices' tokens give zero rows
    const std::string what = str(" rank ", rank, " of 3, rows [", row_offset, ", ", row_offset + slice_rows,
                                 ") of ", full_rows, ", positions=", with_positions);
    const Pair table = random({slice_rows, c}, dt);
    const Pair positions = random({t, c}, dt);
    const Pair out = output({b, t, c}, dt);
    run_both(ops::embedding, [&](Tensor Pair::*on) {
      return ops::EmbeddingArgs{.tokens = ids.*on,
                                .table = table.*on,
                                .positions = with_positions ? positions.*on : Tensor(),
                                .out = out.*on,
                                .valid_rows = valid_rows,
                                .row_offset = row_offset,
                                .full_rows = full_rows};
    });
    expect_close(out, dt, "embedding out" + what);

    const Pair dout = random({b, t, c}, dt);
    const Pair dtable = random({slice_rows, c}, dt);
    const Pair dpositions = random({t, c}, dt);
    run_both(ops::embedding_backward, [&](Tensor Pair::*on) {
      return ops::EmbeddingBackwardArgs{
          ids.*on, dout.*on, dtable.*on, with_positions ? dpositions.*on : Tensor(), row_offset, full_rows};
    });
    expect_close(dtable, dt, "embedding_backward dtable" + what);
    if (with_positions) expect_close(dpositions, dt, "embedding_backward dpositions" + what);
  }
}

// Few rows for many tokens, so each row's gradient is a long sum: any dependence on scheduling would show.
TEST_P(EmbeddingConformance, BackwardIsBitwiseReproducible) {
  const DType dt = GetParam();
  const std::int64_t b = 8, t = 129, c = 771, rows = 11;
  const Pair ids = tokens({b, t}, static_cast<std::int32_t>(rows));
  const Pair dout = random({b, t, c}, dt);
  const Pair dtable_start = random({rows, c}, dt), dpositions_start = random({t, c}, dt);
  std::vector<double> dtable_runs[2], dpositions_runs[2];
  for (int run = 0; run < 2; ++run) {
    const Pair dtable = output_like(dtable_start, dt), dpositions = output_like(dpositions_start, dt);
    gpu().run(ops::embedding_backward,
              ops::EmbeddingBackwardArgs{ids.gpu, dout.gpu, dtable.gpu, dpositions.gpu});
    dtable_runs[run] = gpu_values(dtable.gpu);
    dpositions_runs[run] = gpu_values(dpositions.gpu);
  }
  expect_identical(dtable_runs[0], dtable_runs[1], "embedding_backward dtable");
  expect_identical(dpositions_runs[0], dpositions_runs[1], "embedding_backward dpositions");
}

INSTANTIATE_TEST_SUITE_P(AllFloating, EmbeddingConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

// Runs `run_op` (which queues an op with a bad token id) and expects synchronize() to raise an error naming
// `bad_id`.
template <class RunOp>
void expect_raised_at_synchronize(CudaBackend& backend, RunOp run_op, const std::string& bad_id) {
  run_op();
  try {
    backend.synchronize();
    ADD_FAILURE() << "synchronize() raised no error for token id " << bad_id;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad_id), std::string::npos) << e.what();
  }
}

// A token id at or beyond valid_rows (here beyond the table, too) is raised at synchronize() with the id;
// the op never reads outside the table and writes finite values; the backend keeps working afterwards.
TEST_F(EmbeddingErrors, TokenOutsideTheVocabularyIsRaisedAtSynchronize) {
  const DType dt = DType::f32;
  const std::int64_t rows = 128, valid_rows = 100, c = 33;
  const Pair bad_ids = from_values({1, 3}, DType::i32, {2, 777, 1});
  const Pair table = random({rows, c}, dt);
  const Pair out = output({1, 3, c}, dt);
  expect_raised_at_synchronize(
      gpu(),
      [&] {
        gpu().run(ops::embedding, ops::EmbeddingArgs{bad_ids.gpu, table.gpu, Tensor(), out.gpu, valid_rows});
      },
      "777");
  for (const double v : gpu_values(out.gpu)) ASSERT_TRUE(std::isfinite(v)) << "embedding wrote " << v;

  // The backward pass: a negative id, and one at or beyond the table's rows.
  const Pair dout = random({1, 3, c}, dt);
  const Pair dtable = random({rows, c}, dt);
  for (const auto& [id, text] : {std::pair{-5.0, "-5"}, std::pair{130.0, "130"}}) {
    const Pair ids = from_values({1, 3}, DType::i32, {2, id, 1});
    expect_raised_at_synchronize(
        gpu(),
        [&] {
          gpu().run(ops::embedding_backward,
                    ops::EmbeddingBackwardArgs{ids.gpu, dout.gpu, dtable.gpu, Tensor()});
        },
        text);
  }

  // The error is cleared: a valid op runs and matches the CPU.
  const Pair ids = tokens({2, 5}, static_cast<std::int32_t>(valid_rows));
  const Pair good_out = output({2, 5, c}, dt);
  run_both(ops::embedding, [&](Tensor Pair::*on) {
    return ops::EmbeddingArgs{ids.*on, table.*on, Tensor(), good_out.*on, valid_rows};
  });
  expect_close(good_out, dt, "embedding out after an error");
  EXPECT_NO_THROW(gpu().synchronize());
}

}  // namespace
}  // namespace mtnlg::cuda::test
