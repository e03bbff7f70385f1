// embedding and embedding_backward against naive f64 references on odd sizes, and the backward against
// finite differences of the forward.
#include "backend_fixture.hpp"
#include "gradient_check.hpp"

namespace mtnlg::cpu::test {
namespace {

struct EmbeddingSize {
  std::int64_t b, t, c, rows;
};
// Few rows for many tokens: table rows receive several gradients each.
const std::vector<EmbeddingSize> kEmbeddingSizes = {
    {1, 1, 1, 1}, {3, 7, 17, 5}, {2, 33, 3, 65}, {7, 3, 65, 7}};

template <class T>
class CpuEmbedding : public ::testing::Test {
 protected:
  std::unique_ptr<CpuBackend> backend = make_backend();
};
TYPED_TEST_SUITE(CpuEmbedding, FloatTypes, DTypeNames);

TYPED_TEST(CpuEmbedding, ForwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 1;
  for (const auto& [bs, t, c, rows] : kEmbeddingSizes)
    for (bool with_positions : {false, true}) {
      // valid_rows < rows: the last table row is padding no token may select.
      const std::int64_t valid = std::max<std::int64_t>(1, rows - 1), pos_rows = t + 2;
      const auto tokens = random_tokens(bs * t, static_cast<std::int32_t>(valid), seed++);
      const auto table = random_values<T>(rows * c, seed++),
                 positions = random_values<T>(pos_rows * c, seed++);
      Tensor out = b.empty({bs, t, c}, dtype_of<T>());
      b.run(
          ops::embedding,
          ops::EmbeddingArgs{to_device(b, {bs, t}, tokens), to_device(b, {rows, c}, table),
                             with_positions ? to_device(b, {pos_rows, c}, positions) : Tensor(), out, valid});
      std::vector<double> ref(bs * t * c), mag(bs * t * c);
      for (std::int64_t p = 0; p < bs * t; ++p)
        for (std::int64_t j = 0; j < c; ++j) {
          const double e = table[tokens[p] * c + j], q = with_positions ? positions[(p % t) * c + j] : 0.0;
          ref[p * c + j] = e + q;
          mag[p * c + j] = std::abs(e) + std::abs(q);
        }
      expect_close(to_host<T>(b, out), ref, mag,
                   str("embedding B=", bs, " T=", t, " C=", c, " positions=", with_positions));
    }
}

TYPED_TEST(CpuEmbedding, BackwardMatchesReference) {
  using T = TypeParam;
  Backend& b = *this->backend;
  std::uint64_t seed = 100;
  for (const auto& [bs, t, c, rows] : kEmbeddingSizes)
    for (bool with_positions : {false, true}) {
      const std::int64_t pos_rows = t + 2;
      const auto tokens = random_tokens(bs * t, static_cast<std::int32_t>(rows), seed++);
      const auto dout = random_values<T>(bs * t * c, seed++);
      // The gradients accumulate (+=) into what is there.
      const auto dtable0 = random_values<T>(rows * c, seed++), dpos0 = random_values<T>(pos_rows * c, seed++);
      Tensor dtable = to_device(b, {rows, c}, dtable0);
      Tensor dpos = with_positions ? to_device(b, {pos_rows, c}, dpos0) : Tensor();
      b.run(ops::embedding_backward,
            ops::EmbeddingBackwardArgs{to_device(b, {bs, t}, tokens), to_device(b, {bs, t, c}, dout), dtable,
                                       dpos});
      std::vector<double> table_ref = widen(dtable0), table_mag(rows * c), pos_ref = widen(dpos0),
                          pos_mag(pos_rows * c);
      for (std::size_t i = 0; i < table_ref.size(); ++i) table_mag[i] = std::abs(table_ref[i]);
      for (std::size_t i = 0; i < pos_ref.size(); ++i) pos_mag[i] = std::abs(pos_ref[i]);
      for (std::int64_t p = 0; p < bs * t; ++p)
        for (std::int64_t j = 0; j < c; ++j) {
          const double g = dout[p * c + j];
          table_ref[tokens[p] * c + j] += g;
          table_mag[tokens[p] * c + j] += std::abs(g);
          pos_ref[(p % t) * c + j] += g;
          pos_mag[(p % t) * c + j] += std::abs(g);
        }
      const std::string what = str(" B=", bs, " T=", t, " C=", c, " rows=", rows);
      expect_close(to_host<T>(b, dtable), table_ref, table_mag, "embedding_backward dtable" + what);
      if (with_positions) {
        // Rows of dpositions beyond T are untouched.
        expect_close(to_host<T>(b, dpos), pos_ref, pos_mag, "embedding_backward dpositions" + what);
      }
    }
}

// L = Σ w·embedding(table, positions): its gradients are what embedding_backward computes from dout = w.
TEST(CpuEmbeddingGradient, BackwardIsTheGradientOfForward) {
  auto backend = make_backend();
  Backend& b = *backend;
  const std::int64_t bs = 2, t = 3, c = 5, rows = 4;
  const auto tokens = random_tokens(bs * t, rows, 7);
  const auto table = random_values<double>(rows * c, 8), positions = random_values<double>(t * c, 9);
  const auto w = random_values<double>(bs * t * c, 10);
  const Tensor tok = to_device(b, {bs, t}, tokens);
  auto loss = [&](const std::vector<double>& tab, const std::vector<double>& pos) {
    Tensor out = b.empty({bs, t, c}, DType::f64);
    b.run(ops::embedding,
          ops::EmbeddingArgs{tok, to_device(b, {rows, c}, tab), to_device(b, {t, c}, pos), out, rows});
    return weighted_sum(w, to_host<double>(b, out));
  };
  Tensor dtable = to_device(b, {rows, c}, std::vector<double>(rows * c, 0.0));
  Tensor dpos = to_device(b, {t, c}, std::vector<double>(t * c, 0.0));
  b.run(ops::embedding_backward, ops::EmbeddingBackwardArgs{tok, to_device(b, {bs, t, c}, w), dtable, dpos});
  expect_gradient_close(to_host<double>(b, dtable),
                        numeric_gradient(table, [&](const auto& x) { return loss(x, positions); }), "dtable");
  expect_gradient_close(to_host<double>(b, dpos),
                        numeric_gradient(positions, [&](const auto& x) { return loss(table, x); }),
                        "dpositions");
}

}  // namespace
}  // namespace mtnlg::cpu::test
