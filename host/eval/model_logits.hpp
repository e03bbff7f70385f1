#pragma once
// Reading the model's logits (eval/inference_model.hpp computes them): rows brought to the host as doubles,
// and a token's log-probability under one row.
#include <cstdint>
#include <utility>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg::host::eval {

// Rows [first, first + count) of a (rows, columns) logits tensor, as doubles (f32 values widened exactly).
std::vector<double> download_rows(Backend& be, const Tensor& logits, std::int64_t first, std::int64_t count);

// log_softmax over the real vocabulary (the first `vocab` columns) of one logits row, at `token`; and whether
// `token` is the row's first argmax.
std::pair<double, bool> token_logprob(const double* row, std::int64_t vocab, std::int32_t token);

}  // namespace mtnlg::host::eval
