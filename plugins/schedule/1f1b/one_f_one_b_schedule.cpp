// 1F1B (PipeDream-Flush), the schedule MT-NLG trained with: stage s runs (stages - s - 1) warm-up forwards,
// then alternates one forward and one backward, then drains the remaining backwards. At most (stages - s)
// micro-batches are in flight on stage s, instead of all of them as in GPipe, for the same bubble.
#include <algorithm>

#include "mtnlg/mtnlg.hpp"

namespace mtnlg::schedules {

class OneFOneBSchedule final : public Schedule {
 public:
  explicit OneFOneBSchedule(const CreateArgs&) {}

 protected:
  std::vector<Instruction> do_instructions(const PipelineLayout& p) const override {
    MTNLG_CHECK(p.chunks == 1, str("1f1b runs one model chunk per stage, not parallel.virtual_stages = ",
                                   p.chunks, ": use parallel.schedule = \"interleaved\" for virtual stages"));
    const bool first = p.stage == 0, last = p.stage == p.stages - 1;
    std::vector<Instruction> out;
    const auto fwd = [&](int mb) {
      if (!first) out.push_back({InstrOp::recv_activation, mb});
      if (first || last) out.push_back({InstrOp::load_micro_batch, mb});
      out.push_back({InstrOp::forward, mb});
      if (!last) out.push_back({InstrOp::send_activation, mb});
    };
    const auto bwd = [&](int mb) {
      if (!last) out.push_back({InstrOp::recv_grad, mb});
      out.push_back({InstrOp::backward, mb});
      if (!first) out.push_back({InstrOp::send_grad, mb});
    };
    const int warmup = std::min(p.stages - p.stage - 1, p.micro_batches);
    for (int mb = 0; mb < warmup; ++mb) fwd(mb);
    for (int i = 0; i < p.micro_batches - warmup; ++i) {
      fwd(warmup + i);
      bwd(i);
    }
    for (int mb = p.micro_batches - warmup; mb < p.micro_batches; ++mb) bwd(mb);
    out.push_back({InstrOp::reduce_grads});
    out.push_back({InstrOp::optimizer_step});
    return out;
  }
};

}  // namespace mtnlg::schedules

MTNLG_PLUGIN("schedule-1f1b", "0.1.0",
             mtnlg::component<mtnlg::schedules::OneFOneBSchedule>(
                 "1f1b", "one forward, one backward (PipeDream-Flush), as MT-NLG trained"))
