#pragma once
// Checks shared by the stock schedules' tests: what every valid stream satisfies, one stage at a time. The
// host's simulator (host/pipeline) checks all stages together; these name the broken property directly.
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

// Micro-batches whose forward has run and whose backward has not (over all chunks), at the worst point.
inline int peak_in_flight(const std::vector<mtnlg::Instruction>& stream) {
  int now = 0, peak = 0;
  for (const auto& in : stream) {
    if (in.op == mtnlg::InstrOp::forward) peak = std::max(peak, ++now);
    if (in.op == mtnlg::InstrOp::backward) --now;
  }
  return peak;
}

// The forwards and backwards only, in order: what makes two schedules run the same computation.
inline std::vector<mtnlg::Instruction> compute_order(const std::vector<mtnlg::Instruction>& stream) {
  std::vector<mtnlg::Instruction> out;
  for (const auto& in : stream)
    if (in.op == mtnlg::InstrOp::forward || in.op == mtnlg::InstrOp::backward) out.push_back(in);
  return out;
}

// Each (micro-batch, chunk): forward once, backward once after it; receives and loads before the forward,
// sends after; p2p only towards virtual stages that exist (chunk c of stage s is virtual stage c·stages + s);
// the step ends with reduce_grads then optimizer_step.
inline void expect_complete(const std::vector<mtnlg::Instruction>& stream, int micro_batches, int stage,
                            int stages, int chunks = 1) {
  using mtnlg::InstrOp;
  for (int chunk = 0; chunk < chunks; ++chunk) {
    const int v = chunk * stages + stage;
    const bool first = v == 0, last = v == stages * chunks - 1;
    for (int mb = 0; mb < micro_batches; ++mb) {
      SCOPED_TRACE(testing::Message() << "mb " << mb << ", chunk " << chunk);
      const auto matches = [&](const mtnlg::Instruction& in, InstrOp op) {
        return in.op == op && in.micro_batch == mb && in.chunk == chunk;
      };
      const auto pos = [&](InstrOp op) {
        const auto it =
            std::find_if(stream.begin(), stream.end(), [&](const auto& in) { return matches(in, op); });
        return it == stream.end() ? -1 : static_cast<int>(it - stream.begin());
      };
      const auto count = [&](InstrOp op) {
        return std::count_if(stream.begin(), stream.end(), [&](const auto& in) { return matches(in, op); });
      };
      EXPECT_EQ(count(InstrOp::forward), 1);
      EXPECT_EQ(count(InstrOp::backward), 1);
      EXPECT_LT(pos(InstrOp::forward), pos(InstrOp::backward));
      EXPECT_EQ(count(InstrOp::load_micro_batch), (first || last) ? 1 : 0);
      EXPECT_EQ(count(InstrOp::recv_activation), first ? 0 : 1);
      EXPECT_EQ(count(InstrOp::send_activation), last ? 0 : 1);
      EXPECT_EQ(count(InstrOp::recv_grad), last ? 0 : 1);
      EXPECT_EQ(count(InstrOp::send_grad), first ? 0 : 1);
      if (first || last) {
        EXPECT_LT(pos(InstrOp::load_micro_batch), pos(InstrOp::forward));
      }
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
  }
  ASSERT_GE(stream.size(), 2u);
  EXPECT_EQ(stream[stream.size() - 2].op, InstrOp::reduce_grads);
  EXPECT_EQ(stream.back().op, InstrOp::optimizer_step);
}

}  // namespace testing_streams
