#include "eval/model_logits.hpp"

#include <algorithm>

#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"

namespace mtnlg::host::eval {

Tensor forward_logits(Stage& stage, std::span<const std::int32_t> tokens, std::int64_t b, std::int64_t t) {
  MTNLG_CHECK(static_cast<std::int64_t>(tokens.size()) == b * t,
              "internal: forward_logits given a ragged batch");
  Backend& be = stage.backend();
  Tensor x = be.empty({b, t}, DType::i32), targets = be.empty({b, t}, DType::i32);
  be.upload(x, tokens.data());
  be.run(ops::fill, ops::FillArgs{targets, 0.0});
  SavedState saved;
  const auto& layers = stage.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    saved.clear();  // only the last layer's state matters: it holds the logits
    const LayerStep step{be,
                         stage.engine().params().layer_params(i),
                         layers[i]->is_loss() ? &targets : nullptr,
                         0,
                         0,
                         /*training=*/false,
                         false};
    x = layers[i]->forward(step, x, saved);
  }
  MTNLG_CHECK(saved.contains("logits"),
              "the model's last layer keeps no logits; evaluation and generation need an LM head");
  return saved.get("logits");
}

std::vector<double> download_rows(Backend& be, const Tensor& logits, std::int64_t first, std::int64_t count) {
  const Tensor rows = logits.slice(0, first, count);
  std::vector<double> out(static_cast<std::size_t>(rows.numel()));
  if (rows.dtype() == DType::f64) {
    be.download(out.data(), rows);
    be.synchronize();
  } else {
    MTNLG_CHECK(rows.dtype() == DType::f32, "logits must be f32 or f64");
    std::vector<float> f(out.size());
    be.download(f.data(), rows);
    be.synchronize();
    std::copy(f.begin(), f.end(), out.begin());
  }
  return out;
}

}  // namespace mtnlg::host::eval
