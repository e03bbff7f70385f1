#pragma once
// A pipeline schedule is data: for each stage, a stream of instructions the engine executes in order. The
// engine does not know which schedule produced a stream, so a new schedule is a plugin, not an engine change.
#include <cstdint>
#include <string>
#include <vector>

#include "mtnlg/component.hpp"

namespace mtnlg {

enum class InstrOp : std::uint8_t {
  load_micro_batch,  // read micro-batch mb's inputs/targets (first and last stage)
  forward,           // run chunk's layers forward on micro-batch mb
  backward,          // run chunk's layers backward on micro-batch mb
  send_activation,   // post the send of mb's output activation to the next stage
  recv_activation,   // post the receive of mb's input activation from the previous stage
  send_grad,         // post the send of mb's input gradient to the previous stage
  recv_grad,         // post the receive of mb's output gradient from the next stage
  reduce_grads,      // data-parallel (and tied-weight) gradient reduction
  optimizer_step,    // clip, step the optimizer
};

MTNLG_SDK_API const char* instr_op_name(InstrOp op);  // "forward", ...

struct Instruction {
  InstrOp op;
  int micro_batch = -1;  // -1 for reduce_grads / optimizer_step
  int chunk = 0;         // virtual stage (model chunk) on this rank
  bool operator==(const Instruction&) const = default;
};

MTNLG_SDK_API std::string instruction_str(const Instruction& in);  // "forward(mb=3, chunk=0)"

struct PipelineLayout {
  int stages = 1;         // pipeline-parallel size
  int stage = 0;          // this rank's stage
  int micro_batches = 1;  // per step, per data-parallel rank
  int chunks = 1;         // model chunks (virtual stages) per rank
};

class MTNLG_SDK_API Schedule : public Component {
 public:
  static constexpr const char* kKind = "schedule";
  ~Schedule() override;
  std::vector<Instruction> instructions(const PipelineLayout& layout) const;

 protected:
  virtual std::vector<Instruction> do_instructions(const PipelineLayout& layout) const = 0;
};

}  // namespace mtnlg
