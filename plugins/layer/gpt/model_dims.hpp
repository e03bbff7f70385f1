#pragma once
// The [model] values every GPT layer reads, and the keys its random streams derive from.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "mtnlg/mtnlg.hpp"

namespace mtnlg::gpt {

struct ModelDims {
  std::int64_t layers, hidden, heads, seq_len, vocab, padded_vocab;
  double init_std, hidden_dropout, attention_dropout;
  std::uint64_t seed;
  std::int64_t tensor;  // tensor-parallel slices: heads, vocabulary and MLP width are split over them

  explicit ModelDims(const Table& recipe)
      : layers(recipe.find_path("model.layers")->as_int()),
        hidden(recipe.find_path("model.hidden")->as_int()),
        heads(recipe.find_path("model.heads")->as_int()),
        seq_len(recipe.find_path("model.seq_len")->as_int()),
        vocab(recipe.find_path("model.vocab_size")->as_int()),
        padded_vocab(recipe.find_path("model.padded_vocab")->as_int()),
        init_std(recipe.find_path("model.init_std")->as_float()),
        hidden_dropout(recipe.find_path("model.hidden_dropout")->as_float()),
        attention_dropout(recipe.find_path("model.attention_dropout")->as_float()),
        seed(static_cast<std::uint64_t>(recipe.find_path("train.seed")->as_int())),
        tensor(recipe.find_path("parallel.tensor") ? recipe.find_path("parallel.tensor")->as_int() : 1) {}

  std::int64_t head_dim() const { return hidden / heads; }
  std::int64_t local_heads() const { return heads / tensor; }
  std::int64_t local_vocab() const { return padded_vocab / tensor; }
  // Megatron scales the two projections that write into the residual stream by 1/√(2·layers), so the
  // residual's variance does not grow with depth.
  double output_init_std() const { return init_std / std::sqrt(2.0 * static_cast<double>(layers)); }
};

// Inverted dropout, keyed by (seed, layer index, name) and, inside the op, by (sample, element): the same
// mask in every layout and on recomputation. Active only when training with p > 0.
struct Dropout {
  double p;
  std::uint64_t seed;
  int layer_index;
  std::string_view name;

  bool active(const LayerStep& step) const { return step.training && p > 0.0; }

  // On an activation the layer itself produced: in place. `element_offset` places a tensor-parallel slice
  // (viewed as (B, M)) inside the full tensor, so every layout draws the same mask.
  void forward_in_place(const LayerStep& step, const Tensor& t, std::int64_t element_offset = 0) const {
    if (active(step)) step.backend.run(ops::dropout, args(step, t, t, element_offset));
  }
  // On an incoming gradient, which belongs to the caller: into a new tensor (or dy itself when inactive).
  Tensor backward(const LayerStep& step, const Tensor& dy, std::int64_t element_offset = 0) const {
    if (!active(step)) return dy;
    Tensor dx = step.backend.empty(dy.shape(), dy.dtype());
    step.backend.run(ops::dropout_backward, args(step, dy, dx, element_offset));
    return dx;
  }

 private:
  ops::DropoutArgs args(const LayerStep& step, const Tensor& in, const Tensor& out,
                        std::int64_t element_offset) const {
    const rng::Key key = rng::derive_key(seed, layer_index, name);
    return ops::DropoutArgs{in, out, p, {key[0], key[1]}, step.first_sample, element_offset};
  }
};

}  // namespace mtnlg::gpt
