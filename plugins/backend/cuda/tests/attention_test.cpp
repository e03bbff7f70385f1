// Conformance of causal_softmax and causal_softmax_backward on odd sequence lengths, out of place and in
// place.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mtnlg/ops.hpp"
#include "mtnlg/str.hpp"

#include "conformance.hpp"

namespace mtnlg::cuda::test {
namespace {

class CausalSoftmaxConformance : public Conformance, public ::testing::WithParamInterface<DType> {
 protected:
  // Runs `key` on both backends, with the arguments `make` builds from one side of each Pair (&Pair::gpu or
  // &Pair::cpu).
  template <class Args, class Make>
  void run_both(const OpKey<Args>& key, Make make) {
    gpu().run(key, make(&Pair::gpu));
    cpu().run(key, make(&Pair::cpu));
  }

  // Causal softmax probabilities (heads, seq, seq) of random scores, computed in f64 and stored in `dtype`:
  // the backward pass's input, identical on both backends.
  Pair probabilities(std::int64_t heads, std::int64_t seq, DType dtype) {
    const Pair scores = random({heads, seq, seq}, dtype, -4.0, 4.0);
    std::vector<double> probs(scores.values.size(), 0.0);
    for (std::int64_t r = 0; r < heads * seq; ++r) {
      const double* s = scores.values.data() + r * seq;
      double* p = probs.data() + r * seq;
      const std::int64_t visible = r % seq + 1;
      const double max = *std::max_element(s, s + visible);
      double sum = 0.0;
      for (std::int64_t j = 0; j < visible; ++j) {
        p[j] = std::exp(s[j] - max);
        sum += p[j];
      }
      for (std::int64_t j = 0; j < visible; ++j) p[j] /= sum;
    }
    return from_values({heads, seq, seq}, dtype, probs);
  }
};

struct AttentionSize {
  std::int64_t heads, seq;  // heads = B·H
};
const AttentionSize kSizes[] = {{1, 1}, {3, 5}, {2, 33}, {2, 257}, {1, 1000}};
constexpr double kScale = 0.125;  // 1/√64, GPT-2's head size

std::string describe(const AttentionSize& s) {
  return str("BH=", s.heads, " T=", s.seq, " scale=", kScale);
}

TEST_P(CausalSoftmaxConformance, ForwardMatchesCpu) {
  const DType dt = GetParam();
  for (const AttentionSize& s : kSizes) {
    const Pair scores = random({s.heads, s.seq, s.seq}, dt, -8.0, 8.0);
    const Pair probs = output({s.heads, s.seq, s.seq}, dt);
    run_both(ops::causal_softmax, [&](Tensor Pair::*on) {
      return ops::CausalSoftmaxArgs{scores.*on, probs.*on, kScale};
    });
    expect_close(probs, dt, "causal_softmax probs " + describe(s));
  }
}

TEST_P(CausalSoftmaxConformance, ForwardInPlaceMatchesCpu) {
  const DType dt = GetParam();
  for (const AttentionSize& s : kSizes) {
    const Pair scores = random({s.heads, s.seq, s.seq}, dt, -8.0, 8.0);
    run_both(ops::causal_softmax, [&](Tensor Pair::*on) {
      return ops::CausalSoftmaxArgs{scores.*on, scores.*on, kScale};
    });
    expect_close(scores, dt, "causal_softmax in place " + describe(s));
  }
}

TEST_P(CausalSoftmaxConformance, BackwardMatchesCpu) {
  const DType dt = GetParam();
  for (const AttentionSize& s : kSizes) {
    const Pair probs = probabilities(s.heads, s.seq, dt);
    const Pair dprobs = random({s.heads, s.seq, s.seq}, dt);
    const Pair dscores = output({s.heads, s.seq, s.seq}, dt);
    run_both(ops::causal_softmax_backward, [&](Tensor Pair::*on) {
      return ops::CausalSoftmaxBackwardArgs{probs.*on, dprobs.*on, dscores.*on, kScale};
    });
    expect_close(dscores, dt, "causal_softmax_backward dscores " + describe(s));
  }
}

TEST_P(CausalSoftmaxConformance, BackwardInPlaceMatchesCpu) {
  const DType dt = GetParam();
  for (const AttentionSize& s : kSizes) {
    const Pair probs = probabilities(s.heads, s.seq, dt);
    const Pair dprobs = random({s.heads, s.seq, s.seq}, dt);
    run_both(ops::causal_softmax_backward, [&](Tensor Pair::*on) {
      return ops::CausalSoftmaxBackwardArgs{probs.*on, dprobs.*on, dprobs.*on, kScale};
    });
    expect_close(dprobs, dt, "causal_softmax_backward in place " + describe(s));
  }
}

INSTANTIATE_TEST_SUITE_P(AllFloating, CausalSoftmaxConformance, ::testing::ValuesIn(kFloatingDTypes),
                         dtype_param_name);

}  // namespace
}  // namespace mtnlg::cuda::test
