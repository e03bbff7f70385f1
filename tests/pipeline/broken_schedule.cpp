// A deliberately broken schedule for the checker's tests: 1F1B with one defect, chosen by schedule.defect.
// Defects land only where a pipeline has several stages, so a single-stage build of the recipe (what `mtnlg
// check` runs on the meta backend) still gets a working stream; the pipeline check must catch them.
#include <algorithm>
#include <utility>

#include "mtnlg/mtnlg.hpp"

namespace mtnlg::testing {

class BrokenSchedule final : public Schedule {
 public:
  explicit BrokenSchedule(const CreateArgs& args) : defect_(args.params.get_string("defect")) {}

 protected:
  std::vector<Instruction> do_instructions(const PipelineLayout& p) const override {
    MTNLG_CHECK(p.chunks == 1, "the broken fixture runs one chunk per stage");
    const bool pipelined = p.stages > 1;
    const bool first = p.stage == 0, last = p.stage == p.stages - 1;
    // An off-by-one in the loop bound, on every stage: the last micro-batch never runs.
    const int micro_batches = p.micro_batches - (pipelined && defect_ == "skip_micro_batch" ? 1 : 0);
    // The second stage forgets to receive the last micro-batch's activation.
    const bool drop_last_receive = pipelined && defect_ == "unmatched_send" && p.stage == 1;
    std::vector<Instruction> out;
    const auto fwd = [&](int mb) {
      if (!first && !(drop_last_receive && mb == micro_batches - 1))
        out.push_back({InstrOp::recv_activation, mb});
      if (first || last) out.push_back({InstrOp::load_micro_batch, mb});
      out.push_back({InstrOp::forward, mb});
      if (!last) out.push_back({InstrOp::send_activation, mb});
    };
    const auto bwd = [&](int mb) {
      if (!last) out.push_back({InstrOp::recv_grad, mb});
      out.push_back({InstrOp::backward, mb});
      if (!first) out.push_back({InstrOp::send_grad, mb});
    };
    // Deadlock: the warm-up counts reversed (stage s warms up with s forwards instead of stages − s − 1), so
    // the first stage waits for a gradient while the second waits for an activation the first has not sent.
    const int warmup =
        std::min(pipelined && defect_ == "deadlock" ? p.stage : p.stages - p.stage - 1, micro_batches);
    for (int mb = 0; mb < warmup; ++mb) fwd(mb);
    for (int i = 0; i < micro_batches - warmup; ++i) {
      fwd(warmup + i);
      bwd(i);
    }
    for (int mb = micro_batches - warmup; mb < micro_batches; ++mb) bwd(mb);
    if (pipelined && defect_ == "backward_first" && p.stage == 1) {
      // The second stage runs its first backward where its first forward belongs, and vice versa.
      const auto is = [](InstrOp op) { return [op](const Instruction& in) { return in.op == op; }; };
      std::iter_swap(std::find_if(out.begin(), out.end(), is(InstrOp::forward)),
                     std::find_if(out.begin(), out.end(), is(InstrOp::backward)));
    }
    out.push_back({InstrOp::reduce_grads});
    out.push_back({InstrOp::optimizer_step});
    return out;
  }

 private:
  std::string defect_;
};

const mtnlg_key_spec kBrokenKeys[] = {
    {"defect", MTNLG_KEY_STRING, nullptr, "which defect the streams have",
     "unmatched_send|backward_first|skip_micro_batch|deadlock"},
};

}  // namespace mtnlg::testing

MTNLG_PLUGIN("test-broken-schedule", "0.1.0",
             mtnlg::component<mtnlg::testing::BrokenSchedule>("broken", "1F1B with a deliberate defect",
                                                              mtnlg::testing::kBrokenKeys))
