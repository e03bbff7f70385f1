// GPipe (fill-drain): every micro-batch forward, then every micro-batch backward. Peak in-flight activations
// on every stage equal the number of micro-batches; simple, and the baseline the other schedules are compared
// to.
#include "mtnlg/mtnlg.hpp"

namespace mtnlg::schedules {

class GPipeSchedule final : public Schedule {
 public:
  explicit GPipeSchedule(const CreateArgs&) {}

 protected:
  std::vector<Instruction> do_instructions(const PipelineLayout& p) const override {
    MTNLG_CHECK(p.chunks == 1, str("gpipe runs one model chunk per stage, not parallel.virtual_stages = ",
                                   p.chunks, ": use parallel.schedule = \"interleaved\" for virtual stages"));
    const bool first = p.stage == 0, last = p.stage == p.stages - 1;
    std::vector<Instruction> out;
    for (int mb = 0; mb < p.micro_batches; ++mb) {
      if (!first) out.push_back({InstrOp::recv_activation, mb});
      if (first || last) out.push_back({InstrOp::load_micro_batch, mb});
      out.push_back({InstrOp::forward, mb});
      if (!last) out.push_back({InstrOp::send_activation, mb});
    }
    for (int mb = 0; mb < p.micro_batches; ++mb) {
      if (!last) out.push_back({InstrOp::recv_grad, mb});
      out.push_back({InstrOp::backward, mb});
      if (!first) out.push_back({InstrOp::send_grad, mb});
    }
    out.push_back({InstrOp::reduce_grads});
    out.push_back({InstrOp::optimizer_step});
    return out;
  }
};

}  // namespace mtnlg::schedules

MTNLG_PLUGIN("schedule-gpipe", "0.1.0",
             mtnlg::component<mtnlg::schedules::GPipeSchedule>(
                 "gpipe", "fill-drain: all forwards, then all backwards (GPipe)"))
