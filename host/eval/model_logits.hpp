#pragma once
// The model's next-token logits for a batch of token sequences: the one inference path that evaluation (and
// generation, which runs the same steps for one sequence) needs from a checkpoint's Stage.
#include <cstdint>
#include <span>
#include <vector>

#include "mtnlg/tensor.hpp"
#include "training/stage.hpp"

namespace mtnlg::host::eval {

// Every layer forward on tokens (b, t), row-major, with no dropout; the loss layer is given placeholder
// targets and keeps the logits in its saved state. Returns them, (b·t, padded_vocab), on the stage's backend:
// row i·t + j predicts the token after position j of sequence i. Fails if the model has no LM head.
Tensor forward_logits(Stage& stage, std::span<const std::int32_t> tokens, std::int64_t b, std::int64_t t);

// Rows [first, first + count) of a (rows, columns) logits tensor, as doubles (f32 values widened exactly).
std::vector<double> download_rows(Backend& be, const Tensor& logits, std::int64_t first, std::int64_t count);

}  // namespace mtnlg::host::eval
