// Bitwise reproducibility: the same inputs give the same bits on every run and for every thread count,
// because the thread pool's partitions depend only on the problem size (DESIGN.md: resume gives identical
// metrics).
#include <mutex>
#include <set>
#include <utility>

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

// Every elementwise op and reduction on inputs big enough to span many chunks, downloaded as one f-vector
// each.
template <class T>
std::vector<std::vector<T>> run_all_ops(std::int64_t threads) {
  auto backend = make_backend(threads);
  Backend& b = *backend;
  const std::int64_t rows = 1031, n = 257;  // 264967 elements: 9 elementwise chunks, 17 column_sum row blocks
  const auto xv = random_values<T>(rows * n, 1, -4.0, 4.0), yv = random_values<T>(rows * n, 2);
  const auto bias = random_values<T>(n, 3);
  const Tensor x = to_device(b, {rows, n}, xv), y = to_device(b, {rows, n}, yv);
  auto fresh = [&] { return b.empty({rows, n}, dtype_of<T>()); };

  Tensor added = fresh(), product = fresh(), biased = fresh(), gelu = fresh(), dgelu = fresh(),
         copied = fresh();
  Tensor axpy = to_device(b, {rows, n}, yv), scaled = to_device(b, {rows, n}, xv);
  Tensor colsum = to_device(b, {n}, bias), tall_colsum = b.empty({3}, dtype_of<T>());
  Tensor norm = b.empty({1}, dtype_of<T>());
  b.run(ops::add, ops::BinaryArgs{x, y, added});
  b.run(ops::mul, ops::BinaryArgs{x, y, product});
  b.run(ops::axpy, ops::AxpyArgs{x, axpy, 0.3});
  b.run(ops::scale, ops::ScaleArgs{scaled, -1.7});
  b.run(ops::bias_add, ops::BiasAddArgs{x, to_device(b, {n}, bias), biased});
  b.run(ops::gelu, ops::GeluArgs{x, gelu});
  b.run(ops::gelu_backward, ops::GeluBackwardArgs{x, y, dgelu});
  b.run(ops::copy, ops::CopyArgs{x.transpose(0, 1), copied.reshape({n, rows})});
  b.run(ops::column_sum, ops::ColumnSumArgs{x, colsum, 0.5});
  b.run(ops::column_sum, ops::ColumnSumArgs{x.sub_buffer(0, {88322, 3}), tall_colsum});
  b.run(ops::squared_norm, ops::SquaredNormArgs{x, norm});
  std::vector<std::vector<T>> out;
  for (const Tensor& t :
       {added, product, axpy, scaled, biased, gelu, dgelu, copied, colsum, tall_colsum, norm})
    out.push_back(to_host<T>(b, t));
  return out;
}

// The GPT ops on inputs that span several chunks (and, for the sums over rows, several row blocks), each
// result downloaded, with its name.
template <class T>
std::vector<std::pair<const char*, std::vector<T>>> run_gpt_ops(std::int64_t threads) {
  auto backend = make_backend(threads);
  Backend& b = *backend;
  const DType dt = dtype_of<T>();
  std::vector<std::pair<const char*, Tensor>> results;

  // embedding: (B, T, C) = (4, 257, 129) over 301 table rows: 5 forward chunks, ~290 rows with gradients.
  const std::int64_t bs = 4, t = 257, c = 129, rows = 301;
  const Tensor tokens = to_device(b, {bs, t}, random_tokens(bs * t, rows, 1));
  Tensor embedded = b.empty({bs, t, c}, dt), dtable = to_device(b, {rows, c}, random_values<T>(rows * c, 2)),
         dpos = to_device(b, {t, c}, random_values<T>(t * c, 3));
  b.run(ops::embedding, ops::EmbeddingArgs{tokens, to_device(b, {rows, c}, random_values<T>(rows * c, 4)),
                                           to_device(b, {t, c}, random_values<T>(t * c, 5)), embedded, rows});
  b.run(ops::embedding_backward,
        ops::EmbeddingBackwardArgs{tokens, to_device(b, {bs, t, c}, random_values<T>(bs * t * c, 6)), dtable,
                                   dpos});
  results.insert(results.end(), {{"embedding", embedded},
                                 {"embedding_backward dtable", dtable},
                                 {"embedding_backward dpositions", dpos}});

  // layernorm: (N, C) = (1031, 65): 3 row chunks, 17 row blocks for dgamma and dbeta.
  const std::int64_t n = 1031, ln_c = 65;
  const Tensor x = to_device(b, {n, ln_c}, random_values<T>(n * ln_c, 7)),
               gamma = to_device(b, {ln_c}, random_values<T>(ln_c, 8));
  Tensor normed = b.empty({n, ln_c}, dt), mean = b.empty({n}, dt), rstd = b.empty({n}, dt),
         dx = b.empty({n, ln_c}, dt), dgamma = to_device(b, {ln_c}, random_values<T>(ln_c, 9)),
         dbeta = to_device(b, {ln_c}, random_values<T>(ln_c, 10));
  b.run(ops::layernorm,
        ops::LayerNormArgs{x, gamma, to_device(b, {ln_c}, random_values<T>(ln_c, 11)), normed, mean, rstd});
  b.run(ops::layernorm_backward,
        ops::LayerNormBackwardArgs{to_device(b, {n, ln_c}, random_values<T>(n * ln_c, 12)), x, gamma, mean,
                                   rstd, dx, dgamma, dbeta});
  results.insert(results.end(), {{"layernorm out", normed},
                                 {"layernorm mean", mean},
                                 {"layernorm rstd", rstd},
                                 {"layernorm_backward dx", dx},
                                 {"layernorm_backward dgamma", dgamma},
                                 {"layernorm_backward dbeta", dbeta}});

  // causal_softmax: (BH, T, T) = (6, 129, 129): 4 row chunks.
  const std::int64_t bh = 6, st = 129;
  Tensor probs = b.empty({bh, st, st}, dt), dscores = b.empty({bh, st, st}, dt);
  b.run(ops::causal_softmax,
        ops::CausalSoftmaxArgs{to_device(b, {bh, st, st}, random_values<T>(bh * st * st, 13, -4.0, 4.0)),
                               probs, 0.3});
  b.run(ops::causal_softmax_backward,
        ops::CausalSoftmaxBackwardArgs{probs, to_device(b, {bh, st, st}, random_values<T>(bh * st * st, 14)),
                                       dscores, 0.3});
  results.insert(results.end(), {{"causal_softmax", probs}, {"causal_softmax_backward", dscores}});

  // cross_entropy: (N, V) = (129, 1031), 1000 valid columns: 5 row chunks.
  const std::int64_t ce_n = 129, v = 1031, valid = 1000;
  const Tensor logits = to_device(b, {ce_n, v}, random_values<T>(ce_n * v, 15, -5.0, 5.0)),
               targets = to_device(b, {ce_n}, random_tokens(ce_n, valid, 16));
  Tensor losses = b.empty({ce_n}, dt), dlogits = b.empty({ce_n, v}, dt);
  b.run(ops::cross_entropy, ops::CrossEntropyArgs{logits, targets, losses, valid});
  b.run(ops::cross_entropy_backward, ops::CrossEntropyBackwardArgs{logits, targets, dlogits, valid, 0.01});
  results.insert(results.end(), {{"cross_entropy", losses}, {"cross_entropy_backward", dlogits}});

  // The vocabulary-parallel pieces on the same logits as a slice at col_offset 400 with 600 real columns, and
  // the embedding on rows [100, 250) of the 301-row table.
  Tensor local_max = b.empty({ce_n}, dt), sum_exp = b.empty({ce_n}, dt), target_logit = b.empty({ce_n}, dt),
         parts_losses = b.empty({ce_n}, dt), dslice = b.empty({ce_n, v}, dt);
  b.run(ops::row_max, ops::RowMaxArgs{logits, local_max, 600});
  b.run(ops::cross_entropy_partial,
        ops::CrossEntropyPartialArgs{logits, targets, local_max, sum_exp, target_logit, 400, 600});
  b.run(ops::cross_entropy_from_parts,
        ops::CrossEntropyFromPartsArgs{local_max, sum_exp, target_logit, parts_losses});
  b.run(ops::cross_entropy_partial_backward,
        ops::CrossEntropyPartialBackwardArgs{logits, targets, local_max, sum_exp, dslice, 400, 600, 0.01});
  results.insert(results.end(), {{"row_max", local_max},
                                 {"cross_entropy_partial sum_exp", sum_exp},
                                 {"cross_entropy_partial target_logit", target_logit},
                                 {"cross_entropy_from_parts", parts_losses},
                                 {"cross_entropy_partial_backward", dslice}});
  const std::int64_t slice_rows = 150;
  Tensor sliced = b.empty({bs, t, c}, dt),
         dslice_table = to_device(b, {slice_rows, c}, random_values<T>(slice_rows * c, 22)),
         dslice_pos = to_device(b, {t, c}, random_values<T>(t * c, 23));
  b.run(ops::embedding,
        ops::EmbeddingArgs{tokens, to_device(b, {slice_rows, c}, random_values<T>(slice_rows * c, 24)),
                           to_device(b, {t, c}, random_values<T>(t * c, 25)), sliced, rows, 100, rows});
  b.run(ops::embedding_backward,
        ops::EmbeddingBackwardArgs{tokens, to_device(b, {bs, t, c}, random_values<T>(bs * t * c, 26)),
                                   dslice_table, dslice_pos, 100, rows});
  results.insert(results.end(), {{"embedding (slice)", sliced},
                                 {"embedding_backward dtable (slice)", dslice_table},
                                 {"embedding_backward dpositions (slice)", dslice_pos}});

  // dropout and adamw: 264967 elements, 9 chunks.
  const std::int64_t big = 1031 * 257;
  Tensor dropped = b.empty({1031, 257}, dt);
  ops::DropoutArgs drop{to_device(b, {1031, 257}, random_values<T>(big, 17)), dropped, 0.1};
  drop.key[0] = 3;
  drop.key[1] = 4;
  b.run(ops::dropout, drop);
  Tensor param = to_device(b, {big}, random_values<T>(big, 18)),
         m = to_device(b, {big}, random_values<T>(big, 19)),
         sq = to_device(b, {big}, random_values<T>(big, 20, 0.0, 1.0));
  b.run(ops::adamw, ops::AdamWArgs{param, to_device(b, {big}, random_values<T>(big, 21)), m, sq, 1e-3, 0.9,
                                   0.95, 1e-8, 0.1, 5});
  results.insert(results.end(),
                 {{"dropout", dropped}, {"adamw param", param}, {"adamw m", m}, {"adamw v", sq}});

  std::vector<std::pair<const char*, std::vector<T>>> out;
  for (const auto& [name, tensor] : results) out.emplace_back(name, to_host<T>(b, tensor));
  return out;
}

template <class T>
class CpuDeterminism : public ::testing::Test {};
TYPED_TEST_SUITE(CpuDeterminism, FloatTypes, DTypeNames);

TYPED_TEST(CpuDeterminism, BitwiseAcrossRunsAndThreadCounts) {
  using T = TypeParam;
  const auto one = run_all_ops<T>(1);
  const auto two = run_all_ops<T>(2);
  const auto two_again = run_all_ops<T>(2);
  const auto three = run_all_ops<T>(3);
  const char* names[] = {"add",         "mul",           "axpy", "scale",      "bias_add",
                         "gelu",        "gelu_backward", "copy", "column_sum", "column_sum (tall)",
                         "squared_norm"};
  ASSERT_EQ(one.size(), std::size(names));
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(two[i], two_again[i])) << names[i] << ": two runs with 2 threads differ";
    EXPECT_TRUE(bitwise_equal(one[i], two[i])) << names[i] << ": 1 thread and 2 threads differ";
    EXPECT_TRUE(bitwise_equal(one[i], three[i])) << names[i] << ": 1 thread and 3 threads differ";
  }
}

TYPED_TEST(CpuDeterminism, GptOpsBitwiseAcrossRunsAndThreadCounts) {
  using T = TypeParam;
  const auto one = run_gpt_ops<T>(1);
  const auto two = run_gpt_ops<T>(2);
  const auto two_again = run_gpt_ops<T>(2);
  const auto three = run_gpt_ops<T>(3);
  for (std::size_t i = 0; i < one.size(); ++i) {
    const char* name = one[i].first;
    EXPECT_TRUE(bitwise_equal(two[i].second, two_again[i].second))
        << name << ": two runs with 2 threads differ";
    EXPECT_TRUE(bitwise_equal(one[i].second, two[i].second)) << name << ": 1 thread and 2 threads differ";
    EXPECT_TRUE(bitwise_equal(one[i].second, three[i].second)) << name << ": 1 thread and 3 threads differ";
  }
}

// gemm: the same call twice on the same backend gives the same bits (OpenBLAS's partition is fixed for a
// fixed thread count).
TYPED_TEST(CpuDeterminism, GemmRepeatable) {
  using T = TypeParam;
  auto backend = make_backend(2);
  const Tensor a = to_device(*backend, {129, 65}, random_values<T>(129 * 65, 1));
  const Tensor b = to_device(*backend, {65, 257}, random_values<T>(65 * 257, 2));
  std::vector<std::vector<T>> results;
  for (int run = 0; run < 2; ++run) {
    Tensor c = backend->empty({129, 257}, dtype_of<T>());
    backend->run(ops::gemm, ops::GemmArgs{a, b, c});
    results.push_back(to_host<T>(*backend, c));
  }
  EXPECT_TRUE(bitwise_equal(results[0], results[1]));
}

// The pool's chunks are [k·grain, min(n, (k+1)·grain)) whatever the thread count, each exactly once.
TEST(CpuThreadPool, ChunksDependOnlyOnProblemSize) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    std::mutex mutex;
    std::set<std::pair<std::int64_t, std::int64_t>> seen;
    pool.parallel_for(1000, 64, [&](std::int64_t b, std::int64_t e) {
      std::lock_guard lock(mutex);
      EXPECT_TRUE(seen.emplace(b, e).second) << "chunk run twice";
    });
    ASSERT_EQ(seen.size(), 16u) << threads << " threads";
    std::int64_t next = 0;
    for (auto [b, e] : seen) {
      EXPECT_EQ(b, next);
      EXPECT_EQ(e, std::min<std::int64_t>(1000, b + 64));
      next = e;
    }
  }
}

// A nested parallel_for (a kernel that calls another) runs inline instead of deadlocking; an exception in a
// chunk reaches the caller.
TEST(CpuThreadPool, NestedCallsAndExceptions) {
  ThreadPool pool(2);
  std::atomic<std::int64_t> total{0};
  pool.parallel_for(4, 1, [&](std::int64_t, std::int64_t) {
    pool.parallel_for(100, 10, [&](std::int64_t b, std::int64_t e) { total += e - b; });
  });
  EXPECT_EQ(total.load(), 400);
  EXPECT_THROW(pool.parallel_for(8, 1,
                                 [&](std::int64_t b, std::int64_t) {
                                   if (b == 6) fail("chunk 6 failed");
                                 }),
               Error);
  // Still usable afterwards.
  total = 0;
  pool.parallel_for(10, 1, [&](std::int64_t b, std::int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 10);
}

}  // namespace
}  // namespace mtnlg::cpu::test
