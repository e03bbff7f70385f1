#include "mtnlg/schedule.hpp"

#include "mtnlg/str.hpp"

namespace mtnlg {

Schedule::~Schedule() = default;

const char* instr_op_name(InstrOp op) {
  switch (op) {
    case InstrOp::load_micro_batch:
      return "load_micro_batch";
    case InstrOp::forward:
      return "forward";
    case InstrOp::backward:
      return "backward";
    case InstrOp::send_activation:
      return "send_activation";
    case InstrOp::recv_activation:
      return "recv_activation";
    case InstrOp::send_grad:
      return "send_grad";
    case InstrOp::recv_grad:
      return "recv_grad";
    case InstrOp::reduce_grads:
      return "reduce_grads";
    case InstrOp::optimizer_step:
      return "optimizer_step";
  }
  return "?";
}

std::string instruction_str(const Instruction& in) {
  if (in.micro_batch < 0) return instr_op_name(in.op);
  return str(instr_op_name(in.op), "(mb=", in.micro_batch, ", chunk=", in.chunk, ")");
}

std::vector<Instruction> Schedule::instructions(const PipelineLayout& layout) const {
  MTNLG_CHECK(layout.stages >= 1 && layout.stage >= 0 && layout.stage < layout.stages &&
                  layout.micro_batches >= 1 && layout.chunks >= 1,
              str(component_label(), ": invalid pipeline layout (stages=", layout.stages, ", stage=",
                  layout.stage, ", micro_batches=", layout.micro_batches, ", chunks=", layout.chunks, ")"));
  std::vector<Instruction> out;
  MTNLG_GUARDED(component_label(), out = do_instructions(layout));
  return out;
}

}  // namespace mtnlg
