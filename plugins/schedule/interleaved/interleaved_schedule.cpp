// Interleaved 1F1B (Megatron-LM's schedule with virtual pipeline stages): each stage holds K model chunks, so
// the model runs through P·K virtual stages, chunk c of stage s being virtual stage c·P + s. The pipeline
// fills and drains K times faster, cutting the bubble by K, at the cost of K times more point-to-point
// traffic.
//
// The stage walks P·K·M "virtual micro-batches" k in groups of P·K: within a group, P micro-batches go
// through chunk 0, then the same P through chunk 1, and so on (micro-batch (k / (P·K))·P + k % P, chunk (k %
// (P·K)) / P); backward k visits the chunks in reverse. Stage s runs (P − s − 1)·2 + (K − 1)·P warm-up
// forwards, then alternates forward and backward, then drains. With K = 1 it runs 1F1B's P − s − 1 warm-up
// forwards and is exactly 1F1B.
#include <algorithm>

#include "mtnlg/mtnlg.hpp"

namespace mtnlg::schedules {

class InterleavedSchedule final : public Schedule {
 public:
  explicit InterleavedSchedule(const CreateArgs&) {}

 protected:
  std::vector<Instruction> do_instructions(const PipelineLayout& p) const override {
    const int P = p.stages, K = p.chunks, M = p.micro_batches, s = p.stage;
    // The order below walks whole groups of P micro-batches per chunk, as Megatron's does: a partial last
    // group has no place in it. With one chunk every micro-batch is its own step, so any count works.
    MTNLG_CHECK(K == 1 || M % P == 0,
                str("interleaving ", K, " virtual stages needs micro-batches per step (", M,
                    ") to be a multiple of the pipeline stages (", P,
                    "): change train.global_batch, train.micro_batch or parallel.pipeline"));
    struct Step {
      InstrOp op;
      int micro_batch, chunk;
    };
    const auto forward_step = [&](int k) {
      const int in_group = k % (P * K);
      return Step{InstrOp::forward, k / (P * K) * P + in_group % P, in_group / P};
    };
    const auto backward_step = [&](int k) {
      const Step f = forward_step(k);
      return Step{InstrOp::backward, f.micro_batch, K - 1 - f.chunk};
    };
    const int total = M * K;
    // Megatron runs every forward first when M = P; the formula alone gives the same bubble here with fewer
    // micro-batches in flight on the later stages, and the simulator accepts it, so there is no special case.
    const int warmup = K == 1 ? std::min(P - s - 1, M) : std::min((P - s - 1) * 2 + (K - 1) * P, total);
    std::vector<Step> steps;
    for (int k = 0; k < warmup; ++k) steps.push_back(forward_step(k));
    for (int k = 0; k < total - warmup; ++k) {
      steps.push_back(forward_step(warmup + k));
      steps.push_back(backward_step(k));
    }
    for (int k = total - warmup; k < total; ++k) steps.push_back(backward_step(k));

    const int last = P * K - 1;
    const auto virtual_stage = [&](const Step& st) { return st.chunk * P + s; };
    // The receive a step consumes, if any.
    const auto receive = [&](const Step& st, std::vector<Instruction>& out) {
      const int v = virtual_stage(st);
      if (st.op == InstrOp::forward && v > 0)
        out.push_back({InstrOp::recv_activation, st.micro_batch, st.chunk});
      if (st.op == InstrOp::backward && v < last)
        out.push_back({InstrOp::recv_grad, st.micro_batch, st.chunk});
    };
    std::vector<Instruction> out;
    if (!steps.empty()) receive(steps.front(), out);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Step& st = steps[i];
      // Post the next step's receive before computing this one, so that its transfer overlaps this compute
      // (Megatron's send-current/receive-next pairing). Posting never blocks, so this cannot deadlock.
      if (i + 1 < steps.size()) receive(steps[i + 1], out);
      const int v = virtual_stage(st);
      if (st.op == InstrOp::forward) {
        if (v == 0 || v == last) out.push_back({InstrOp::load_micro_batch, st.micro_batch, st.chunk});
        out.push_back({InstrOp::forward, st.micro_batch, st.chunk});
        if (v < last) out.push_back({InstrOp::send_activation, st.micro_batch, st.chunk});
      } else {
        out.push_back({InstrOp::backward, st.micro_batch, st.chunk});
        if (v > 0) out.push_back({InstrOp::send_grad, st.micro_batch, st.chunk});
      }
    }
    out.push_back({InstrOp::reduce_grads});
    out.push_back({InstrOp::optimizer_step});
    return out;
  }
};

}  // namespace mtnlg::schedules

MTNLG_PLUGIN("schedule-interleaved", "0.1.0",
             mtnlg::component<mtnlg::schedules::InterleavedSchedule>(
                 "interleaved",
                 "interleaved 1F1B over parallel.virtual_stages model chunks per stage (Megatron)"))
