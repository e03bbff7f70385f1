#pragma once
// Checks shared by the stock schedules' tests: what every valid single-chunk stream satisfies.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mtnlg/schedule.hpp"

namespace testing_streams {

inline std::string render(const std::vector<mtnlg::Instruction>& stream) {
  std::string out;
  for (const auto& in : stream) out += (out.empty() ? "" : " ") + mtnlg::instruction_str(in);
  return out;
}

// Micro-batches whose forward has run and whose backward has not, at the worst point of the stream.
inline int peak_in_flight(const std::vector<mtnlg::Instruction>& stream) {
  int now = 0, peak = 0;
  for (const auto& in : stream) {
    if (in.op == mtnlg::InstrOp::forward) peak = std::max(peak, ++now);
    if (in.op == mtnlg::InstrOp::backward) --now;
  }
  return peak;
}

// Each micro-batch: forward once, backward once after it; receives and loads before the forward, sends after;
// p2p only towards stages that exist; the step ends with reduce_grads then optimizer_step.
inline void expect_complete(const std::vector<mtnlg::Instruction>& stream, int micro_batches, int stage,
                            int stages) {
  using mtnlg::InstrOp;
  const bool first = stage == 0, last = stage == stages - 1;
  for (int mb = 0; mb < micro_batches; ++mb) {
    const auto pos = [&](InstrOp op) {
      const auto it = std::find_if(stream.begin(), stream.end(),
                                   [&](const auto& in) { return in.op == op && in.micro_batch == mb; });
      return it == stream.end() ? -1 : static_cast<int>(it - stream.begin());
    };
    const auto count = [&](InstrOp op) {
      return std::count_if(stream.begin(), stream.end(),
                           [&](const auto& in) { return in.op == op && in.micro_batch == mb; });
    };
    EXPECT_EQ(count(InstrOp::forward), 1) << "mb " << mb;
    EXPECT_EQ(count(InstrOp::backward), 1) << "mb " << mb;
    EXPECT_LT(pos(InstrOp::forward), pos(InstrOp::backward)) << "mb " << mb;
    EXPECT_EQ(count(InstrOp::load_micro_batch), (first || last) ? 1 : 0) << "mb " << mb;
    EXPECT_EQ(count(InstrOp::recv_activation), first ? 0 : 1) << "mb " << mb;
    EXPECT_EQ(count(InstrOp::send_activation), last ? 0 : 1) << "mb " << mb;
    EXPECT_EQ(count(InstrOp::recv_grad), last ? 0 : 1) << "mb " << mb;
    EXPECT_EQ(count(InstrOp::send_grad), first ? 0 : 1) << "mb " << mb;
    if (!first) {
      EXPECT_LT(pos(InstrOp::recv_activation), pos(InstrOp::forward));
    }
    if (!last) {
      EXPECT_GT(pos(InstrOp::send_activation), pos(InstrOp::forward));
    }
    if (!last) {
      EXPECT_LT(pos(InstrOp::recv_grad), pos(InstrOp::backward));
    }
    if (!first) {
      EXPECT_GT(pos(InstrOp::send_grad), pos(InstrOp::backward));
    }
  }
  ASSERT_GE(stream.size(), 2u);
  EXPECT_EQ(stream[stream.size() - 2].op, InstrOp::reduce_grads);
  EXPECT_EQ(stream.back().op, InstrOp::optimizer_step);
}

}  // namespace testing_streams
