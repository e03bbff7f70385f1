#include "pipeline/schedule_simulator.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {

bool is_send(InstrOp op) {
  return op == InstrOp::send_activation || op == InstrOp::send_grad;
}
bool is_recv(InstrOp op) {
  return op == InstrOp::recv_activation || op == InstrOp::recv_grad;
}
bool is_p2p(InstrOp op) {
  return is_send(op) || is_recv(op);
}
bool names_micro_batch(InstrOp op) {
  return op != InstrOp::reduce_grads && op != InstrOp::optimizer_step;
}

// The checks below run in this order over all stages, so that a message names the root cause rather than a
// consequence: (1) each instruction on its own (ranges, peers that exist, nothing twice, the step's end), (2)
// every send against its receive on the peer, (3) order within a stream and completeness, (4) execution.
class Simulation {
 public:
  Simulation(const std::vector<std::vector<Instruction>>& streams, const PipelineShape& shape,
             const InstructionCosts& costs)
      : streams_(streams),
        P_(shape.stages),
        K_(shape.chunks),
        M_(shape.micro_batches),
        V_(shape.stages * shape.chunks),
        costs_(costs) {
    MTNLG_CHECK(
        P_ >= 1 && K_ >= 1 && M_ >= 1,
        str("pipeline shape needs stages, chunks and micro-batches >= 1 (got ", P_, ", ", K_, ", ", M_, ")"));
    MTNLG_CHECK(static_cast<int>(streams.size()) == P_,
                str(streams.size(), " instruction streams for ", P_, " pipeline stages"));
    for (const auto* each : {&costs.forward_by_virtual, &costs.backward_by_virtual})
      MTNLG_CHECK(each->empty() || static_cast<int>(each->size()) == V_,
                  str("internal: per-virtual-stage costs for ", each->size(), " of ", V_, " virtual stages"));
    for (const auto* each : {&costs.reduce_grads_by_stage, &costs.optimizer_step_by_stage})
      MTNLG_CHECK(each->empty() || static_cast<int>(each->size()) == P_,
                  str("internal: per-stage costs for ", each->size(), " of ", P_, " stages"));
  }

  PipelineReport run() {
    report_.stages.resize(P_);
    sender_.assign(message_count(), {});
    receiver_.assign(message_count(), {});
    for (int s = 0; s < P_; ++s) check_instructions(s);
    for (int s = 0; s < P_; ++s) check_matching(s);
    for (int s = 0; s < P_; ++s) check_order_and_completeness(s);
    execute();
    return report_;
  }

 private:
  struct Site {
    int stage = -1;
    std::size_t pos = 0;
  };
  // A message is (gradient?, micro-batch, sending virtual stage); activations go to v+1, gradients to v−1.
  struct Message {
    bool grad = false;
    int micro_batch = 0;
    int from = 0;
    int to() const { return grad ? from - 1 : from + 1; }
  };

  int virtual_stage(int stage, const Instruction& in) const { return in.chunk * P_ + stage; }
  std::size_t message_count() const { return static_cast<std::size_t>(2 * M_ * V_); }
  std::size_t index(const Message& m) const {
    return static_cast<std::size_t>(((m.grad ? 1 : 0) * M_ + m.micro_batch) * V_ + m.from);
  }
  std::size_t cell(const Instruction& in) const {
    return static_cast<std::size_t>(in.chunk * M_ + in.micro_batch);
  }

  // The message a p2p instruction of `stage` sends or receives.
  Message message_of(int stage, const Instruction& in) const {
    const int v = virtual_stage(stage, in);
    switch (in.op) {
      case InstrOp::send_activation:
        return {false, in.micro_batch, v};
      case InstrOp::recv_activation:
        return {false, in.micro_batch, v - 1};
      case InstrOp::send_grad:
        return {true, in.micro_batch, v};
      default:  // recv_grad
        return {true, in.micro_batch, v + 1};
    }
  }
  // The instruction that posts the other end of `m` on its peer, and that peer.
  Instruction counterpart(const Message& m, bool sending) const {
    const int v = sending ? m.to() : m.from;
    const InstrOp op = m.grad ? (sending ? InstrOp::recv_grad : InstrOp::send_grad)
                              : (sending ? InstrOp::recv_activation : InstrOp::send_activation);
    return {op, m.micro_batch, v / P_};
  }
  int peer_stage(const Message& m, bool sending) const { return (sending ? m.to() : m.from) % P_; }

  [[noreturn]] void defect(int stage, std::size_t pos, const std::string& why) const {
    fail(str("stage ", stage, ", instruction ", pos, " ", instruction_str(streams_[stage][pos]), ": ", why));
  }

  void check_instructions(int s) {
    const auto& stream = streams_[s];
    const std::size_t n = stream.size();
    std::vector<int> loads(static_cast<std::size_t>(K_ * M_), 0), forwards(loads), backwards(loads);
    for (std::size_t pos = 0; pos < n; ++pos) {
      const Instruction& in = stream[pos];
      if (in.op == InstrOp::reduce_grads && pos + 2 != n)
        defect(s, pos,
               "reduce_grads must come once, second to last, followed by optimizer_step: gradients "
               "are complete only after every backward of the step");
      if (in.op == InstrOp::optimizer_step &&
          (pos + 1 != n || pos == 0 || stream[pos - 1].op != InstrOp::reduce_grads))
        defect(s, pos, "optimizer_step must come once, last, right after reduce_grads");
      if (!names_micro_batch(in.op)) continue;
      if (in.micro_batch < 0 || in.micro_batch >= M_)
        defect(s, pos, str("no such micro-batch: the step has ", M_, " (0 to ", M_ - 1, ")"));
      if (in.chunk < 0 || in.chunk >= K_)
        defect(s, pos,
               str("no such chunk: each stage runs ", K_, K_ == 1 ? " chunk" : " chunks", " (0 to ", K_ - 1,
                   ")"));
      const int v = virtual_stage(s, in);
      const bool first = v == 0, last = v == V_ - 1;
      const std::string where = str("chunk ", in.chunk, " of stage ", s, " is virtual stage ", v, " of ", V_);
      if ((in.op == InstrOp::recv_activation || in.op == InstrOp::send_grad) && first)
        defect(s, pos,
               str("no previous stage to ", in.op == InstrOp::send_grad ? "send to" : "receive from", ": ",
                   where, ", the first"));
      if ((in.op == InstrOp::send_activation || in.op == InstrOp::recv_grad) && last)
        defect(s, pos,
               str("no next stage to ", in.op == InstrOp::send_activation ? "send to" : "receive from", ": ",
                   where, ", the last"));
      if (in.op == InstrOp::load_micro_batch && !first && !last)
        defect(
            s, pos,
            str("only the first virtual stage (inputs) and the last (targets) load micro-batches: ", where));
      const auto once = [&](std::vector<int>& count, const char* what) {
        if (++count[cell(in)] > 1) defect(s, pos, str(what, " twice for the same micro-batch and chunk"));
      };
      if (in.op == InstrOp::load_micro_batch) once(loads, "loads");
      if (in.op == InstrOp::forward) once(forwards, "runs forward");
      if (in.op == InstrOp::backward) once(backwards, "runs backward");
      if (is_p2p(in.op)) {
        auto& site = (is_send(in.op) ? sender_ : receiver_)[index(message_of(s, in))];
        if (site.stage >= 0) defect(s, pos, str("posted twice (first at instruction ", site.pos, ")"));
        site = {s, pos};
      }
    }
    if (n < 2 || stream[n - 2].op != InstrOp::reduce_grads || stream[n - 1].op != InstrOp::optimizer_step) {
      if (n == 0)
        fail(str("stage ", s, ": the stream is empty; it must end with reduce_grads, optimizer_step"));
      defect(s, n - 1, "the stream must end with reduce_grads, optimizer_step");
    }
  }

  void check_matching(int s) {
    const auto& stream = streams_[s];
    for (std::size_t pos = 0; pos < stream.size(); ++pos) {
      const Instruction& in = stream[pos];
      if (!is_p2p(in.op)) continue;
      const bool sending = is_send(in.op);
      const Message m = message_of(s, in);
      if ((sending ? receiver_ : sender_)[index(m)].stage < 0)
        defect(s, pos,
               str("stage ", peer_stage(m, sending), " posts no matching ",
                   instruction_str(counterpart(m, sending)), ": the ", sending ? "send" : "receive",
                   " would never complete"));
    }
  }

  void check_order_and_completeness(int s) {
    const auto& stream = streams_[s];
    StageReport& r = report_.stages[s];
    r.instructions = static_cast<int>(stream.size());
    const std::size_t none = stream.size();
    std::vector<std::size_t> loaded(static_cast<std::size_t>(K_ * M_), none), forward(loaded),
        backward(loaded);
    int in_flight = 0;
    for (std::size_t pos = 0; pos < stream.size(); ++pos) {
      const Instruction& in = stream[pos];
      if (!names_micro_batch(in.op)) continue;
      const int v = virtual_stage(s, in);
      const bool first = v == 0, last = v == V_ - 1;
      const std::size_t c = cell(in);
      const auto posted_before = [&](InstrOp op) {
        const Message m = message_of(s, {op, in.micro_batch, in.chunk});
        return receiver_[index(m)].stage == s && receiver_[index(m)].pos < pos;
      };
      const Instruction fwd{InstrOp::forward, in.micro_batch, in.chunk};
      const Instruction bwd{InstrOp::backward, in.micro_batch, in.chunk};
      switch (in.op) {
        case InstrOp::load_micro_batch:
          if (forward[c] != none)
            defect(s, pos, str("loads after ", instruction_str(fwd), ", which needs it"));
          loaded[c] = pos;
          break;
        case InstrOp::forward:
          if ((first || last) && loaded[c] == none)
            defect(s, pos,
                   str("no load_micro_batch before it: the ", first ? "first" : "last",
                       " virtual stage needs the micro-batch's ", first ? "inputs" : "targets"));
          if (!first && !posted_before(InstrOp::recv_activation))
            defect(s, pos, "no recv_activation posted before it: its input would never arrive");
          forward[c] = pos;
          ++r.forwards;
          r.peak_in_flight = std::max(r.peak_in_flight, ++in_flight);
          break;
        case InstrOp::backward:
          if (forward[c] == none)
            defect(s, pos,
                   str("backward before its forward: ", instruction_str(fwd), " has not run on this stage"));
          if (!last && !posted_before(InstrOp::recv_grad))
            defect(s, pos, "no recv_grad posted before it: its output gradient would never arrive");
          backward[c] = pos;
          ++r.backwards;
          --in_flight;
          break;
        case InstrOp::send_activation:
          if (forward[c] == none)
            defect(s, pos, str("sends before ", instruction_str(fwd), " has computed it"));
          ++r.sends;
          break;
        case InstrOp::send_grad:
          if (backward[c] == none)
            defect(s, pos, str("sends before ", instruction_str(bwd), " has computed it"));
          ++r.sends;
          break;
        case InstrOp::recv_activation:
        case InstrOp::recv_grad:
          ++r.receives;
          break;
        default:
          break;
      }
    }
    // Completeness, reported at reduce_grads: the step ends without these.
    const std::size_t end = stream.size() - 2;
    for (int chunk = 0; chunk < K_; ++chunk) {
      for (int mb = 0; mb < M_; ++mb) {
        const Instruction fwd{InstrOp::forward, mb, chunk}, bwd{InstrOp::backward, mb, chunk};
        const std::size_t c = cell(fwd);
        const int v = chunk * P_ + s;
        if (forward[c] == none)
          defect(s, end,
                 str(instruction_str(fwd), " never runs: the step would skip micro-batch ", mb, " on chunk ",
                     chunk));
        if (backward[c] == none)
          defect(s, end,
                 str(instruction_str(bwd), " never runs: micro-batch ", mb, " on chunk ", chunk,
                     " would contribute no gradient"));
        if (v < V_ - 1 && sender_[index({false, mb, v})].stage < 0)
          defect(s, forward[c],
                 "its output is never sent (no send_activation): the next stage would wait forever");
        if (v > 0 && sender_[index({true, mb, v})].stage < 0)
          defect(s, backward[c],
                 "its input gradient is never sent (no send_grad): the previous stage would wait forever");
      }
    }
  }

  // Every stage advances as far as it can; an instruction that must wait for a peer stops its stage until the
  // peer has posted the other end. Times follow from the data dependencies alone, so the order in which
  // stages are visited does not change them.
  void execute() {
    std::vector<double> send_posted(message_count(), -1.0), recv_posted(message_count(), -1.0);
    std::vector<std::vector<Message>> sends_of(P_);
    std::vector<std::size_t> pc(P_, 0);
    std::vector<double> clock(P_, 0.0);
    const auto rendezvous = [&](const Message& m) -> std::optional<double> {
      if (send_posted[index(m)] < 0 || recv_posted[index(m)] < 0) return std::nullopt;
      return std::max(send_posted[index(m)], recv_posted[index(m)]) + costs_.transfer;
    };
    const auto ready_at = [&](int s, const Instruction& in) -> std::optional<double> {
      const int v = virtual_stage(s, in);
      switch (in.op) {
        case InstrOp::forward:
          if (v == 0) return 0.0;
          return rendezvous(message_of(s, {InstrOp::recv_activation, in.micro_batch, in.chunk}));
        case InstrOp::backward:
          if (v == V_ - 1) return 0.0;
          return rendezvous(message_of(s, {InstrOp::recv_grad, in.micro_batch, in.chunk}));
        case InstrOp::reduce_grads: {
          double t = 0.0;
          for (const Message& m : sends_of[s]) {
            const auto done = rendezvous(m);
            if (!done) return std::nullopt;
            t = std::max(t, *done);
          }
          return t;
        }
        default:
          return 0.0;
      }
    };
    const auto pick = [](const std::vector<double>& each, int i, double otherwise) {
      return each.empty() ? otherwise : each.at(static_cast<std::size_t>(i));
    };
    const auto cost = [&](int s, const Instruction& in) {
      switch (in.op) {
        case InstrOp::forward:
          return pick(costs_.forward_by_virtual, virtual_stage(s, in), costs_.forward);
        case InstrOp::backward:
          return pick(costs_.backward_by_virtual, virtual_stage(s, in), costs_.backward);
        case InstrOp::load_micro_batch:
          return costs_.load;
        case InstrOp::reduce_grads:
          return pick(costs_.reduce_grads_by_stage, s, costs_.reduce_grads);
        case InstrOp::optimizer_step:
          return pick(costs_.optimizer_step_by_stage, s, costs_.optimizer_step);
        default:
          return costs_.post;
      }
    };
    for (bool progress = true; progress;) {
      progress = false;
      for (int s = 0; s < P_; ++s) {
        const auto& stream = streams_[s];
        while (pc[s] < stream.size()) {
          const Instruction& in = stream[pc[s]];
          const auto ready = ready_at(s, in);
          if (!ready) break;
          const double took = cost(s, in);
          clock[s] = std::max(clock[s], *ready) + took;
          report_.stages[s].busy += took;
          if (is_p2p(in.op)) {
            const Message m = message_of(s, in);
            (is_send(in.op) ? send_posted : recv_posted)[index(m)] = clock[s];
            if (is_send(in.op)) sends_of[s].push_back(m);
          }
          ++pc[s];
          progress = true;
        }
      }
    }
    std::string blocked;
    for (int s = 0; s < P_; ++s) {
      if (pc[s] == streams_[s].size()) continue;
      const Instruction& in = streams_[s][pc[s]];
      std::string waits;
      if (in.op == InstrOp::reduce_grads) {
        for (const Message& m : sends_of[s]) {
          if (recv_posted[index(m)] >= 0) continue;
          const Site& site = sender_[index(m)];
          waits = str("its ", instruction_str(streams_[s][site.pos]), " (instruction ", site.pos,
                      ") to be received: stage ", peer_stage(m, true), " has not posted ",
                      instruction_str(counterpart(m, true)));
          break;
        }
      } else {
        const InstrOp recv = in.op == InstrOp::forward ? InstrOp::recv_activation : InstrOp::recv_grad;
        const Message m = message_of(s, {recv, in.micro_batch, in.chunk});
        waits = str("stage ", peer_stage(m, false), " to post ", instruction_str(counterpart(m, false)));
      }
      blocked += str(blocked.empty() ? "" : "; ", "stage ", s, " at instruction ", pc[s], " ",
                     instruction_str(in), " waits for ", waits);
    }
    if (!blocked.empty()) fail("deadlock, no stage can advance: " + blocked);
    double busy = 0.0;
    for (int s = 0; s < P_; ++s) {
      report_.stages[s].finish = clock[s];
      report_.makespan = std::max(report_.makespan, clock[s]);
      busy += report_.stages[s].busy;
    }
    report_.bubble = report_.makespan > 0.0 ? 1.0 - busy / (P_ * report_.makespan) : 0.0;
  }

  const std::vector<std::vector<Instruction>>& streams_;
  const int P_, K_, M_, V_;
  const InstructionCosts costs_;
  std::vector<Site> sender_, receiver_;  // per message: the instruction that posts it, if any
  PipelineReport report_;
};

}  // namespace

PipelineReport simulate_streams(const std::vector<std::vector<Instruction>>& streams,
                                const PipelineShape& shape, const InstructionCosts& costs) {
  return Simulation(streams, shape, costs).run();
}

PipelineReport simulate_schedule(const Schedule& schedule, const PipelineShape& shape,
                                 const InstructionCosts& costs) {
  std::vector<std::vector<Instruction>> streams;
  for (int s = 0; s < shape.stages; ++s)
    streams.push_back(schedule.instructions({shape.stages, s, shape.micro_batches, shape.chunks}));
  try {
    return simulate_streams(streams, shape, costs);
  } catch (const Error& e) {
    throw Error(str(schedule.component_label(), ": ", e.what()));
  }
}

}  // namespace mtnlg::host
