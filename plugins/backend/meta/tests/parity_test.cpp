// The meta backend must accept and reject exactly what the CPU backend does, with the same words, and count
// allocations the same way: `mtnlg check` is only useful if it predicts a real run. (The test binary links
// the CPU backend's library; the meta plugin itself shares nothing with it.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <regex>

#include "mtnlg/ops.hpp"

#include "cpu_backend.hpp"
#include "meta_backend.hpp"

namespace mtnlg::meta {
namespace {

struct Pair {
  std::unique_ptr<Backend> cpu, meta;
  Pair() {
    Table params;
    params.set("threads", Value(1));
    params.set("deferred", Value(false));
    const Table none, recipe;
    cpu = std::make_unique<cpu::CpuBackend>(CreateArgs{params, recipe});
    meta = std::make_unique<MetaBackend>(CreateArgs{none, recipe});
    cpu->set_component_label("backend");
    meta->set_component_label("backend");
  }
};

// The error message, with the device names made equal.
std::string message_of(const std::function<void(Backend&)>& call, Backend& backend) {
  try {
    call(backend);
    backend.synchronize();
  } catch (const Error& e) {
    return std::regex_replace(e.what(), std::regex("\\b(cpu|meta)\\b"), "DEVICE");
  }
  return "(no error)";
}

using Call = std::function<void(Backend&)>;

Tensor f32(Backend& b, Shape s) {
  return b.empty(std::move(s), DType::f32);
}

// Token ids, zero so that the CPU kernels that read them accept them.
Tensor i32_zeros(Backend& b, Shape s) {
  Tensor t = b.empty(std::move(s), DType::i32);
  b.run(ops::fill, ops::FillArgs{t, 0.0});
  return t;
}

const std::vector<std::pair<const char*, Call>>& calls() {
  static const std::vector<std::pair<const char*, Call>> all = {
      {"gemm ok",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{f32(b, {3, 5}), f32(b, {5, 7}), f32(b, {3, 7})});
       }},
      {"gemm K",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{f32(b, {3, 5}), f32(b, {4, 7}), f32(b, {3, 7})});
       }},
      {"gemm c",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{f32(b, {3, 5}), f32(b, {5, 7}), f32(b, {7, 3})});
       }},
      {"gemm batch",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{f32(b, {2, 3, 5}), f32(b, {3, 5, 7}), f32(b, {2, 3, 7})});
       }},
      {"gemm rank",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{f32(b, {2, 3, 5}), f32(b, {5, 7}), f32(b, {2, 3, 7})});
       }},
      {"gemm stride",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{f32(b, {5, 3}).transpose(0, 1), f32(b, {5, 7}), f32(b, {3, 7})});
       }},
      {"gemm dtype",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{b.empty({3, 5}, DType::f64), f32(b, {5, 7}), f32(b, {3, 7})});
       }},
      {"gemm i32",
       [](Backend& b) {
         b.run(ops::gemm, ops::GemmArgs{b.empty({2, 2}, DType::i32), b.empty({2, 2}, DType::i32),
                                        b.empty({2, 2}, DType::i32)});
       }},
      {"gemm overlap",
       [](Backend& b) {
         const Tensor sq = f32(b, {4, 4});
         b.run(ops::gemm, ops::GemmArgs{f32(b, {4, 4}), sq, sq});
       }},
      {"fill u16",
       [](Backend& b) {
         b.run(ops::fill, ops::FillArgs{b.empty({3}, DType::u16), 70000.0});
       }},
      {"fill bf16 ok",
       [](Backend& b) {
         b.run(ops::fill, ops::FillArgs{b.empty({3}, DType::bf16), 0.0});
       }},
      {"adamw bf16",
       [](Backend& b) {
         const auto t = [&b] { return b.empty({6}, DType::bf16); };
         b.run(ops::adamw, ops::AdamWArgs{t(), t(), t(), t()});
       }},
      {"cast ok",
       [](Backend& b) {
         b.run(ops::cast, ops::CastArgs{f32(b, {2, 3}), b.empty({2, 3}, DType::bf16)});
       }},
      {"cast integer",
       [](Backend& b) {
         b.run(ops::cast, ops::CastArgs{b.empty({4}, DType::i32), f32(b, {4})});
       }},
      {"cast shape",
       [](Backend& b) {
         b.run(ops::cast, ops::CastArgs{f32(b, {2, 3}), b.empty({3, 2}, DType::f16)});
       }},
      {"cast overlap",
       [](Backend& b) {
         // The f16 view's 2 bytes per element land inside the f32 tensor's bytes.
         const Tensor wide = f32(b, {4});
         b.run(ops::cast, ops::CastArgs{wide, Tensor(wide.storage(), {4}, DType::f16, 2)});
       }},
      {"copy shape",
       [](Backend& b) {
         b.run(ops::copy, ops::CopyArgs{f32(b, {2, 5}), f32(b, {10})});
       }},
      {"copy overlap",
       [](Backend& b) {
         const Tensor row = f32(b, {9});
         b.run(ops::copy, ops::CopyArgs{row.slice(0, 0, 5), row.slice(0, 2, 5)});
       }},
      {"copy same ok",
       [](Backend& b) {
         const Tensor row = f32(b, {9});
         b.run(ops::copy, ops::CopyArgs{row, row});
       }},
      {"axpy numel",
       [](Backend& b) {
         b.run(ops::axpy, ops::AxpyArgs{f32(b, {3}), f32(b, {4})});
       }},
      {"axpy undefined",
       [](Backend& b) {
         b.run(ops::axpy, ops::AxpyArgs{Tensor(), f32(b, {4})});
       }},
      {"scale strided",
       [](Backend& b) {
         b.run(ops::scale, ops::ScaleArgs{f32(b, {4, 6}).slice(1, 0, 3), 2.0});
       }},
      {"add numel",
       [](Backend& b) {
         b.run(ops::add, ops::BinaryArgs{f32(b, {3}), f32(b, {4}), f32(b, {3})});
       }},
      {"mul dtype",
       [](Backend& b) {
         b.run(ops::mul, ops::BinaryArgs{b.empty({3}, DType::f64), f32(b, {3}), f32(b, {3})});
       }},
      {"bias_add bias",
       [](Backend& b) {
         b.run(ops::bias_add, ops::BiasAddArgs{f32(b, {2, 5}), f32(b, {4}), f32(b, {2, 5})});
       }},
      {"bias_add out",
       [](Backend& b) {
         b.run(ops::bias_add, ops::BiasAddArgs{f32(b, {2, 5}), f32(b, {5}), f32(b, {5, 2})});
       }},
      {"column_sum",
       [](Backend& b) {
         b.run(ops::column_sum, ops::ColumnSumArgs{f32(b, {2, 5}), f32(b, {2})});
       }},
      {"squared_norm",
       [](Backend& b) {
         b.run(ops::squared_norm, ops::SquaredNormArgs{f32(b, {2, 5}), f32(b, {2})});
       }},
      {"gelu",
       [](Backend& b) {
         b.run(ops::gelu, ops::GeluArgs{f32(b, {2, 5}), f32(b, {5, 2})});
       }},
      {"gelu_backward",
       [](Backend& b) {
         b.run(ops::gelu_backward, ops::GeluBackwardArgs{f32(b, {2, 5}), f32(b, {2, 5}), f32(b, {10})});
       }},
      // The GPT ops. Token ids are filled first: the CPU kernels read them (the meta ones cannot).
      {"embedding ok",
       [](Backend& b) {
         b.run(ops::embedding, ops::EmbeddingArgs{i32_zeros(b, {2, 3}), f32(b, {7, 4}), f32(b, {5, 4}),
                                                  f32(b, {2, 3, 4}), 6});
       }},
      {"embedding out",
       [](Backend& b) {
         b.run(ops::embedding,
               ops::EmbeddingArgs{i32_zeros(b, {2, 3}), f32(b, {7, 4}), Tensor(), f32(b, {2, 4, 3}), 7});
       }},
      {"embedding valid_rows",
       [](Backend& b) {
         b.run(ops::embedding,
               ops::EmbeddingArgs{i32_zeros(b, {2, 3}), f32(b, {7, 4}), Tensor(), f32(b, {2, 3, 4}), 0});
       }},
      {"embedding tokens dtype",
       [](Backend& b) {
         b.run(ops::embedding, ops::EmbeddingArgs{b.empty({2, 3}, DType::i64), f32(b, {7, 4}), Tensor(),
                                                  f32(b, {2, 3, 4}), 7});
       }},
      {"embedding_backward ok",
       [](Backend& b) {
         b.run(ops::embedding_backward, ops::EmbeddingBackwardArgs{i32_zeros(b, {2, 3}), f32(b, {2, 3, 4}),
                                                                   f32(b, {7, 4}), f32(b, {3, 4})});
       }},
      {"embedding_backward positions",
       [](Backend& b) {
         b.run(ops::embedding_backward, ops::EmbeddingBackwardArgs{i32_zeros(b, {2, 3}), f32(b, {2, 3, 4}),
                                                                   f32(b, {7, 4}), f32(b, {2, 4})});
       }},
      {"layernorm ok",
       [](Backend& b) {
         b.run(ops::layernorm, ops::LayerNormArgs{f32(b, {5, 7}), f32(b, {7}), f32(b, {7}), f32(b, {5, 7}),
                                                  f32(b, {5}), f32(b, {5})});
       }},
      {"layernorm gamma",
       [](Backend& b) {
         b.run(ops::layernorm, ops::LayerNormArgs{f32(b, {5, 7}), f32(b, {5}), f32(b, {7}), f32(b, {5, 7}),
                                                  f32(b, {5}), f32(b, {5})});
       }},
      {"layernorm in place",
       [](Backend& b) {
         const Tensor x = f32(b, {5, 7});
         b.run(ops::layernorm, ops::LayerNormArgs{x, f32(b, {7}), f32(b, {7}), x, f32(b, {5}), f32(b, {5})});
       }},
      {"layernorm_backward ok",
       [](Backend& b) {
         b.run(ops::layernorm_backward,
               ops::LayerNormBackwardArgs{f32(b, {5, 7}), f32(b, {5, 7}), f32(b, {7}), f32(b, {5}),
                                          f32(b, {5}), f32(b, {5, 7}), f32(b, {7}), f32(b, {7})});
       }},
      {"layernorm_backward rstd",
       [](Backend& b) {
         b.run(ops::layernorm_backward,
               ops::LayerNormBackwardArgs{f32(b, {5, 7}), f32(b, {5, 7}), f32(b, {7}), f32(b, {5}),
                                          f32(b, {7}), f32(b, {5, 7}), f32(b, {7}), f32(b, {7})});
       }},
      {"causal_softmax in place ok",
       [](Backend& b) {
         const Tensor s = f32(b, {2, 4, 4});
         b.run(ops::causal_softmax, ops::CausalSoftmaxArgs{s, s, 0.5});
       }},
      {"causal_softmax square",
       [](Backend& b) {
         b.run(ops::causal_softmax, ops::CausalSoftmaxArgs{f32(b, {2, 3, 4}), f32(b, {2, 3, 4})});
       }},
      {"causal_softmax_backward ok",
       [](Backend& b) {
         b.run(ops::causal_softmax_backward,
               ops::CausalSoftmaxBackwardArgs{f32(b, {2, 4, 4}), f32(b, {2, 4, 4}), f32(b, {2, 4, 4})});
       }},
      {"causal_softmax_backward overlap",
       [](Backend& b) {
         const Tensor p = f32(b, {2, 4, 4});
         b.run(ops::causal_softmax_backward, ops::CausalSoftmaxBackwardArgs{p, f32(b, {2, 4, 4}), p});
       }},
      {"cross_entropy ok",
       [](Backend& b) {
         b.run(ops::cross_entropy, ops::CrossEntropyArgs{f32(b, {3, 8}), i32_zeros(b, {3}), f32(b, {3}), 6});
       }},
      {"cross_entropy valid_cols",
       [](Backend& b) {
         b.run(ops::cross_entropy, ops::CrossEntropyArgs{f32(b, {3, 8}), i32_zeros(b, {3}), f32(b, {3}), 9});
       }},
      {"cross_entropy_backward in place ok",
       [](Backend& b) {
         const Tensor logits = f32(b, {3, 8});
         b.run(ops::cross_entropy_backward,
               ops::CrossEntropyBackwardArgs{logits, i32_zeros(b, {3}), logits, 8});
       }},
      {"cross_entropy_backward targets",
       [](Backend& b) {
         b.run(ops::cross_entropy_backward,
               ops::CrossEntropyBackwardArgs{f32(b, {3, 8}), i32_zeros(b, {4}), f32(b, {3, 8}), 8});
       }},
      {"dropout ok",
       [](Backend& b) {
         b.run(ops::dropout, ops::DropoutArgs{f32(b, {2, 5}), f32(b, {2, 5}), 0.1});
       }},
      {"dropout p",
       [](Backend& b) {
         b.run(ops::dropout, ops::DropoutArgs{f32(b, {2, 5}), f32(b, {2, 5}), 1.0});
       }},
      {"dropout_backward shape",
       [](Backend& b) {
         b.run(ops::dropout_backward, ops::DropoutArgs{f32(b, {2, 5}), f32(b, {10}), 0.1});
       }},
      {"adamw ok",
       [](Backend& b) {
         b.run(ops::adamw, ops::AdamWArgs{f32(b, {6}), f32(b, {6}), f32(b, {6}), f32(b, {6}), 1e-3});
       }},
      {"adamw step",
       [](Backend& b) {
         b.run(ops::adamw, ops::AdamWArgs{f32(b, {6}), f32(b, {6}), f32(b, {6}), f32(b, {6}), 1e-3, 0.9,
                                          0.999, 1e-8, 0.0, 0});
       }},
      {"adamw dtype",
       [](Backend& b) {
         b.run(ops::adamw, ops::AdamWArgs{f32(b, {6}), b.empty({6}, DType::f64), f32(b, {6}), f32(b, {6})});
       }},
      {"unknown op",
       [](Backend& b) {
         b.run(OpKey<ops::FillArgs>{"no_such_op"}, ops::FillArgs{f32(b, {2}), 0.0});
       }},
  };
  return all;
}

TEST(MetaParity, SameErrorsAsCpu) {
  Pair p;
  for (const auto& [name, call] : calls()) {
    const std::string on_cpu = message_of(call, *p.cpu), on_meta = message_of(call, *p.meta);
    EXPECT_EQ(on_meta, on_cpu) << name;
    EXPECT_EQ(on_cpu == "(no error)", std::string_view(name).ends_with(" ok")) << name << ": " << on_cpu;
  }
}

TEST(MetaParity, SameOpsAndSameAllocStats) {
  Pair p;
  EXPECT_EQ(p.meta->op_names(), p.cpu->op_names());
  for (const auto& [name, call] : calls()) {
    message_of(call, *p.cpu);
    message_of(call, *p.meta);
  }
  // A little graph with frees in the middle.
  for (Backend* b : {p.cpu.get(), p.meta.get()}) {
    Tensor keep = b->empty({33, 17}, DType::f64);
    for (int i = 0; i < 5; ++i) Tensor tmp = b->empty({i, 7}, DType::u16);
    Tensor x = f32(*b, {65}), y = f32(*b, {65});
    b->run(ops::add, ops::BinaryArgs{x, y, x});
    x = Tensor();
    Tensor z = b->empty({0}, DType::i64);
    b->synchronize();
  }
  const AllocStats c = p.cpu->alloc_stats(), m = p.meta->alloc_stats();
  EXPECT_EQ(m.current_bytes, c.current_bytes);
  EXPECT_EQ(m.peak_bytes, c.peak_bytes);
  EXPECT_EQ(m.total_bytes, c.total_bytes);
  EXPECT_EQ(m.allocations, c.allocations);
  EXPECT_GT(c.allocations, 50u);
}

}  // namespace
}  // namespace mtnlg::meta
