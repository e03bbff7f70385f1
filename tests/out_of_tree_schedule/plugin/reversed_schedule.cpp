// A third party's pipeline schedule: fill-drain like GPipe, but the drain runs the micro-batches' backwards
// in reversed order, last in first out, so the activations of the most recent micro-batch are consumed first.
// Legal on every stage because each stage drains in the same order its successor sends gradients.
#include "mtnlg/mtnlg.hpp"

namespace example {

class ReversedSchedule final : public mtnlg::Schedule {
 public:
  explicit ReversedSchedule(const mtnlg::CreateArgs&) {}

 protected:
  std::vector<mtnlg::Instruction> do_instructions(const mtnlg::PipelineLayout& p) const override {
    using mtnlg::InstrOp;
    MTNLG_CHECK(p.chunks == 1, "reversed runs one model chunk per stage");
    const bool first = p.stage == 0, last = p.stage == p.stages - 1;
    std::vector<mtnlg::Instruction> out;
    for (int mb = 0; mb < p.micro_batches; ++mb) {
      if (!first) out.push_back({InstrOp::recv_activation, mb});
      if (first || last) out.push_back({InstrOp::load_micro_batch, mb});
      out.push_back({InstrOp::forward, mb});
      if (!last) out.push_back({InstrOp::send_activation, mb});
    }
    for (int mb = p.micro_batches - 1; mb >= 0; --mb) {
      if (!last) out.push_back({InstrOp::recv_grad, mb});
      out.push_back({InstrOp::backward, mb});
      if (!first) out.push_back({InstrOp::send_grad, mb});
    }
    out.push_back({InstrOp::reduce_grads});
    out.push_back({InstrOp::optimizer_step});
    return out;
  }
};

}  // namespace example

MTNLG_PLUGIN("reversed-schedule-example", "1.0.0",
             mtnlg::component<example::ReversedSchedule>(
                 "reversed", "fill-drain with the drain in reversed micro-batch order"))
