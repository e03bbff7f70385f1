// The planner's parts on their own: the cost model against the published FLOP formula and MT-NLG's reported
// throughput, cluster files and their errors, and per-stage costs in the schedule simulator.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "mtnlg/error.hpp"
#include "pipeline/schedule_simulator.hpp"
#include "plan/cluster.hpp"
#include "plan/cost_model.hpp"

namespace mtnlg::host::plan {
namespace {

// The [model] and [train] keys the cost model reads, MT-NLG 530B's.
Table recipe_530b(const std::string& recompute) {
  Table model, train, root;
  model.set("layers", Value(105));
  model.set("hidden", Value(20480));
  model.set("heads", Value(128));
  model.set("seq_len", Value(2048));
  model.set("vocab_size", Value(50257));
  model.set("padded_vocab", Value(51200));
  train.set("micro_batch", Value(1));
  train.set("global_batch", Value(1920));
  train.set("recompute", Value(recompute));
  train.set("recompute_interval", Value(1));
  root.set("model", Value(std::move(model)));
  root.set("train", Value(std::move(train)));
  return root;
}

TEST(CostModel, MtNlgReportedThroughputFollowsFromTheFormula) {
  // The seed: 60.1 s per iteration on 280 DGX A100 nodes (2240 GPUs) is 126 TFLOP/s per GPU.
  // The published figures are rounded to whole TFLOP/s: agreement to 0.5%.
  const double flops = model_flops(recipe_530b("full"));
  EXPECT_NEAR(flops / (60.1 * 2240) / 1e12 / 126.0, 1.0, 0.005);
  EXPECT_NEAR(flops / (50.2 * 2800) / 1e12 / 121.0, 1.0, 0.005);
  EXPECT_NEAR(flops / (44.4 * 3360) / 1e12 / 113.0, 1.0, 0.005);
}

TEST(CostModel, LayerWorkAddsUpToTheFormula) {
  // Over the whole model, per sample: 105 recomputed blocks plus the LM head, on all 8 tensor-parallel ranks.
  for (const std::string recompute : {"full", "none"}) {
    const Table recipe = recipe_530b(recompute);
    const bool full = recompute == "full";
    const LayerWork block = layer_work("transformer_block", recipe, 8, full);
    const LayerWork head = layer_work("lm_head", recipe, 8, false);
    const double per_sample =
        8.0 * (105 * (block.forward_flops + block.backward_flops + block.recompute_flops) +
               head.forward_flops + head.backward_flops);
    EXPECT_NEAR(per_sample * 1920 / model_flops(recipe), 1.0, 1e-12) << recompute;
    EXPECT_EQ(block.forward_all_reduces, 2);
    EXPECT_EQ(block.recompute_all_reduces, full ? 2 : 0);
  }
  const LayerWork one_rank = layer_work("transformer_block", recipe_530b("none"), 1, false);
  EXPECT_EQ(one_rank.forward_all_reduces + one_rank.backward_all_reduces, 0);
}

TEST(CostModel, SelectiveRecomputationRedoesTheScores) {
  const LayerWork w = layer_work("transformer_block", recipe_530b("selective"), 8, false);
  EXPECT_DOUBLE_EQ(w.recompute_flops, 2.0 * 2048.0 * 2048.0 * 20480.0 / 8);
  EXPECT_DOUBLE_EQ(w.recompute_attention_flops, w.recompute_flops);  // all of it is the attention core's
  EXPECT_EQ(w.recompute_all_reduces, 0);
}

// The attention core's part of a block (4·b·s²·h / t forward, twice that backward), charged at
// attention_efficiency; the rest of the block at gemm_efficiency.
TEST(CostModel, AttentionCoreFlopsAreSeparated) {
  const double attention = 4.0 * 2048.0 * 2048.0 * 20480.0 / 8;
  const LayerWork none = layer_work("transformer_block", recipe_530b("none"), 8, false);
  EXPECT_DOUBLE_EQ(none.forward_attention_flops, attention);
  EXPECT_DOUBLE_EQ(none.backward_attention_flops, 2.0 * attention);
  EXPECT_DOUBLE_EQ(none.recompute_attention_flops, 0.0);
  EXPECT_LT(none.forward_attention_flops, none.forward_flops);
  const LayerWork full = layer_work("transformer_block", recipe_530b("full"), 8, true);
  EXPECT_DOUBLE_EQ(full.recompute_attention_flops, attention);
  EXPECT_DOUBLE_EQ(layer_work("lm_head", recipe_530b("none"), 8, false).forward_attention_flops, 0.0);
}

TEST(CostModel, UnknownLayerIsNamed) {
  try {
    layer_work("mixture_of_experts", recipe_530b("none"), 1, false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no cost model for layer 'mixture_of_experts'"), std::string::npos)
        << e.what();
  }
}

TEST(Cluster, StockClustersHaveEveryAssumptionWithASource) {
  for (const std::string name : {"dgx-a100-80gb", "dgx-h100", "cpu-laptop"}) {
    Cluster c = load_cluster(name);
    apply_assumptions(c, {});
    for (const auto& [key, meaning] : required_assumptions()) {
      ASSERT_TRUE(c.assumptions.contains(key)) << name << " " << key;
      EXPECT_FALSE(c.assumptions.at(key).source.empty()) << name << " " << key;
    }
    EXPECT_TRUE(c.assumptions.contains("dp_overlap"));  // the planner's own defaults are added
  }
  const Cluster a100 = load_cluster("dgx-a100-80gb");
  EXPECT_EQ(a100.gpus_per_node, 8);
  EXPECT_DOUBLE_EQ(a100.value("peak_tflops_bf16"), 312.0);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

class ClusterFile : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    const auto file = std::filesystem::temp_directory_path() /
                      ("mtnlg-cluster-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                       "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml");
    std::ofstream(file) << text;
    files_.push_back(file);
    return file;
  }
  void TearDown() override {
    for (const auto& f : files_) std::filesystem::remove(f);
  }
  // A stock file with one line replaced.
  std::string stock_with(const std::string& key, const std::string& line) {
    std::ifstream in(stock_cluster_dir() / "dgx-a100-80gb.toml");
    std::string text, l;
    while (std::getline(in, l)) text += (l.rfind(key + " =", 0) == 0 ? line : l) + "\n";
    return text;
  }
  std::vector<std::filesystem::path> files_;
};

TEST_F(ClusterFile, UnknownNameListsTheStockClusters) {
  const std::string e = error_of([] { load_cluster("dgx-a1000"); });
  EXPECT_NE(
      e.find("no cluster named 'dgx-a1000'; the stock clusters are cpu-laptop, dgx-a100-80gb, dgx-h100"),
      std::string::npos)
      << e;
  EXPECT_NE(error_of([] {
              load_cluster("/no/such/cluster.toml");
            }).find("cluster file /no/such/cluster.toml cannot be read"),
            std::string::npos);
}

TEST_F(ClusterFile, MissingSourceIsRefusedAtItsLine) {
  const auto f =
      write(stock_with("gemm_efficiency", "gemm_efficiency = { value = 0.9, unit = \"of peak\" }"));
  const std::string e = error_of([&] { load_cluster(f.string()); });
  EXPECT_NE(e.find(f.string() + ":"), std::string::npos) << e;
  EXPECT_NE(e.find("assumptions.gemm_efficiency needs a source"), std::string::npos) << e;
}

TEST_F(ClusterFile, OutOfRangeMisspeltAndMissingKeys) {
  const auto bad = write(stock_with("gemm_efficiency", "gemm_efficiency = { value = 1.5, source = \"x\" }"));
  EXPECT_NE(error_of([&] {
              load_cluster(bad.string());
            }).find("assumptions.gemm_efficiency = 1.5 must be in (0, 1]"),
            std::string::npos);
  const auto typo = write(stock_with("hbm_gbps", "hbm_gpbs = { value = 2039.0, source = \"x\" }"));
  const std::string e = error_of([&] { load_cluster(typo.string()); });
  EXPECT_NE(e.find("unknown assumption 'hbm_gpbs' (did you mean 'hbm_gbps'?)"), std::string::npos) << e;
  const auto missing = write(stock_with("hbm_gbps", ""));
  EXPECT_NE(error_of([&] { load_cluster(missing.string()); }).find("gives no assumptions.hbm_gbps"),
            std::string::npos);
  const auto plain = write(stock_with("hbm_gbps", "hbm_gbps = 2039.0"));
  EXPECT_NE(
      error_of([&] { load_cluster(plain.string()); }).find("must be { value = ..., unit = \"...\", source"),
      std::string::npos);
  const auto gpus = write("name = \"x\"\ngpus_per_node = 0\n[assumptions]\n");
  EXPECT_NE(error_of([&] { load_cluster(gpus.string()); }).find("gpus_per_node must be an integer >= 1"),
            std::string::npos);
}

TEST_F(ClusterFile, StructureErrorsNameTheKey) {
  const auto expect = [&](const std::string& text, const std::string& message) {
    const auto f = write(text);
    const std::string e = error_of([&] { load_cluster(f.string()); });
    EXPECT_NE(e.find(message), std::string::npos) << e;
  };
  expect("name = \"x\"\ngpus_per_nod = 8\n",
         "unknown key 'gpus_per_nod' in a cluster file (did you mean 'gpus_per_node'?)");
  expect("gpus_per_node = 8\n[assumptions]\n", "a cluster file needs name = \"...\"");
  expect("name = \"x\"\ngpus_per_node = 8\n", "a cluster file needs an [assumptions] table");
  expect(stock_with("hbm_gbps", "hbm_gbps = { value = 2039.0, source = \"x\", note = \"y\" }"),
         "assumptions.hbm_gbps: unknown field 'note' (value, unit, source)");
  expect(stock_with("hbm_gbps", "hbm_gbps = { value = \"fast\", source = \"x\" }"),
         "assumptions.hbm_gbps.value must be a number");
  expect(stock_with("hbm_gbps", "hbm_gbps = { source = \"x\" }"), "assumptions.hbm_gbps needs a value");
}

TEST(Assume, OverridesValueAndSourceAndRefusesNonsense) {
  Cluster c = load_cluster("dgx-a100-80gb");
  apply_assumptions(c, {"gemm_efficiency=0.7", "dp_overlap=0.5"});
  EXPECT_DOUBLE_EQ(c.value("gemm_efficiency"), 0.7);
  EXPECT_EQ(c.assumptions.at("gemm_efficiency").source, "set on the command line");
  EXPECT_DOUBLE_EQ(c.value("dp_overlap"), 0.5);
  EXPECT_NE(error_of([&] {
              apply_assumptions(c, {"gemm_eficiency=0.7"});
            }).find("unknown assumption 'gemm_eficiency' (did you mean 'gemm_efficiency'?)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_assumptions(c, {"hbm_gbps=fast"}); }).find("'fast' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_assumptions(c, {"nic_gbps=-1"}); }).find("nic_gbps must be > 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_assumptions(c, {"gemm_efficiency"}); }).find("expected KEY=VALUE"),
            std::string::npos);
}

// Without a value of its own, attention_efficiency follows gemm_efficiency (overrides included), saying so;
// --assume sets it, within (0, 1].
TEST(Assume, AttentionEfficiencyDefaultsToTheGemmsAndCanBeSet) {
  Cluster c = load_cluster("dgx-h100");
  apply_assumptions(c, {"gemm_efficiency=0.6"});
  EXPECT_DOUBLE_EQ(c.value("attention_efficiency"), 0.6);
  EXPECT_NE(c.assumptions.at("attention_efficiency").source.find("planner default: gemm_efficiency's value"),
            std::string::npos);
  Cluster d = load_cluster("dgx-h100");
  apply_assumptions(d, {"attention_efficiency=0.12"});
  EXPECT_DOUBLE_EQ(d.value("attention_efficiency"), 0.12);
  EXPECT_DOUBLE_EQ(d.value("gemm_efficiency"), 0.698);
  EXPECT_NE(error_of([&] {
              apply_assumptions(d, {"attention_efficiency=1.5"});
            }).find("attention_efficiency must be in (0, 1]"),
            std::string::npos);
}

TEST(SimulatorCosts, PerStageCostsAreUsed) {
  // Two stages, one micro-batch: forward 0 then 1, backward 1 then 0, each waiting for the other.
  const std::vector<std::vector<Instruction>> streams = {{{InstrOp::load_micro_batch, 0, 0},
                                                          {InstrOp::forward, 0, 0},
                                                          {InstrOp::send_activation, 0, 0},
                                                          {InstrOp::recv_grad, 0, 0},
                                                          {InstrOp::backward, 0, 0},
                                                          {InstrOp::reduce_grads, -1, 0},
                                                          {InstrOp::optimizer_step, -1, 0}},
                                                         {{InstrOp::load_micro_batch, 0, 0},
                                                          {InstrOp::recv_activation, 0, 0},
                                                          {InstrOp::forward, 0, 0},
                                                          {InstrOp::backward, 0, 0},
                                                          {InstrOp::send_grad, 0, 0},
                                                          {InstrOp::reduce_grads, -1, 0},
                                                          {InstrOp::optimizer_step, -1, 0}}};
  InstructionCosts costs;
  costs.forward_by_virtual = {1.0, 2.0};
  costs.backward_by_virtual = {4.0, 3.0};
  costs.reduce_grads_by_stage = {0.5, 0.25};
  costs.optimizer_step_by_stage = {0.125, 0.0};
  costs.transfer = 0.0625;
  const PipelineReport r = simulate_streams(streams, {2, 1, 1}, costs);
  // Stage 0: forward [0, 1]; stage 1 gets it at 1.0625, forward to 3.0625, backward to 6.0625; stage 0's
  // backward from 6.125 (the gradient arrives) to 10.125, then 0.5 + 0.125.
  EXPECT_DOUBLE_EQ(r.stages[0].finish, 10.75);
  EXPECT_DOUBLE_EQ(r.stages[1].finish, 6.375);  // its reduction waits for its send to be received
  EXPECT_DOUBLE_EQ(r.makespan, 10.75);
  costs.forward_by_virtual = {1.0};
  EXPECT_NE(error_of([&] {
              simulate_streams(streams, {2, 1, 1}, costs);
            }).find("per-virtual-stage costs for 1 of 2"),
            std::string::npos);
}

}  // namespace
}  // namespace mtnlg::host::plan
