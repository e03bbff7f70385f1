// Tests of the nccl communicator on one GPU at world size 1 (the lent GPU machines have one GPU, and NCCL
// refuses two ranks on one device): every operation's values, split groups, the errors a caller can reach,
// and the ordering with the backend's stream — an operation sees the work queued before it, wait() does not
// block the host, and work queued after wait() sees the result. Without a GPU the binary exits 77 (skipped).
//
// `--stall-test` runs the timeout scenario instead (stall_test.sh): the backend's stream is blocked for 30 s,
// an all-reduce queued behind it must be reported by the watchdog after the 1 s timeout, ending the process.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "busy_stream.hpp"
#include "cuda_backend.hpp"
#include "mtnlg/config.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/ops.hpp"
#include "nccl_communicator.hpp"

namespace mtnlg::comm {
namespace {

cuda::CudaBackend* g_backend = nullptr;
NcclCommunicator* g_comm = nullptr;
ProcessGroup* g_world = nullptr;  // every rank (here: one), named "world"

template <class T>
Tensor on_device(const std::vector<T>& values, DType dtype = dtype_of<T>()) {
  Tensor t = g_backend->empty({static_cast<std::int64_t>(values.size())}, dtype);
  g_backend->upload(t, values.data());
  g_backend->synchronize();
  return t;
}

template <class T>
std::vector<T> to_host(const Tensor& t) {
  std::vector<T> values(static_cast<std::size_t>(t.numel()));
  g_backend->download(values.data(), t);
  g_backend->synchronize();
  return values;
}

// Runs `body` expecting an mtnlg::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "expected an mtnlg::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const auto& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << message << "\n  lacks: " << part;
  }
}

// With one rank, a sum or a max over the group is the tensor itself, bit for bit.
template <class T>
void check_all_reduce(const std::vector<T>& values, DType dtype, ReduceOp op) {
  Tensor t = on_device(values, dtype);
  g_world->all_reduce(*g_backend, t, op)->wait();
  EXPECT_EQ(to_host<T>(t), values) << dtype_name(dtype);
}

TEST(CommNccl, WorldGroup) {
  EXPECT_EQ(g_comm->size(), 1);
  EXPECT_EQ(g_comm->rank(), 0);
  EXPECT_EQ(g_comm->device(), g_backend->device_index());
  EXPECT_EQ(g_world->name(), "world");
  EXPECT_EQ(g_world->size(), 1);
  EXPECT_EQ(g_world->rank(), 0);
  EXPECT_EQ(g_world->world_rank(0), 0);
}

TEST(CommNccl, AllReduceEveryDtype) {
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::max}) {
    check_all_reduce<float>({-1.5f, 2.0f, 3.25f}, DType::f32, op);
    check_all_reduce<double>({-1.5, 2.0, 1e300}, DType::f64, op);
    check_all_reduce<std::int32_t>({-7, 0, 2147483647}, DType::i32, op);
    check_all_reduce<std::int64_t>({-7, 0, std::int64_t{1} << 62}, DType::i64, op);
    // bf16 1.0, -2.0, 0.5 and f16 1.0, -2.0, 0.5 as their bit patterns.
    check_all_reduce<std::uint16_t>({0x3F80, 0xC000, 0x3F00}, DType::bf16, op);
    check_all_reduce<std::uint16_t>({0x3C00, 0xC000, 0x3800}, DType::f16, op);
  }
}

TEST(CommNccl, AllReduceOfU16IsRefused) {
  Tensor t = on_device<std::uint16_t>({1, 2});
  expect_error([&] { g_world->all_reduce(*g_backend, t, ReduceOp::sum); },
               {"all_reduce", "'world'", "cannot reduce u16", "f32, f64, bf16, f16, i32 and i64"});
}

TEST(CommNccl, AllGatherOutOfPlace) {
  Tensor in = on_device<std::int32_t>({7, 8, 9});
  Tensor out = g_backend->empty({3}, DType::i32);
  g_world->all_gather(*g_backend, in, out)->wait();
  EXPECT_EQ(to_host<std::int32_t>(out), (std::vector<std::int32_t>{7, 8, 9}));
}

TEST(CommNccl, AllGatherInPlace) {
  Tensor out = on_device<double>({0.5, 1.5});
  g_world->all_gather(*g_backend, out.sub_buffer(0, {2}), out)->wait();
  EXPECT_EQ(to_host<double>(out), (std::vector<double>{0.5, 1.5}));
}

TEST(CommNccl, AllGatherMovesSixteenBitDtypes) {
  Tensor in = on_device<std::uint16_t>({0x3F80, 0x4000}, DType::bf16);
  Tensor out = g_backend->empty({2}, DType::bf16);
  g_world->all_gather(*g_backend, in, out)->wait();
  EXPECT_EQ(to_host<std::uint16_t>(out), (std::vector<std::uint16_t>{0x3F80, 0x4000}));
}

TEST(CommNccl, AllGatherRejectsAnOverlapThatIsNotThisRanksSlice) {
  Tensor buffer = g_backend->empty({3}, DType::f32);
  expect_error([&] { g_world->all_gather(*g_backend, buffer.sub_buffer(1, {2}), buffer.sub_buffer(0, {2})); },
               {"all_gather", "'world'", "overlaps"});
}

TEST(CommNccl, ReduceScatter) {
  Tensor in = on_device<float>({1.0f, -2.0f, 3.5f, 4.0f});
  Tensor out = g_backend->empty({4}, DType::f32);
  g_world->reduce_scatter(*g_backend, in, out)->wait();
  EXPECT_EQ(to_host<float>(out), (std::vector<float>{1.0f, -2.0f, 3.5f, 4.0f}));
}

TEST(CommNccl, Broadcast) {
  Tensor t = on_device<std::int64_t>({5, -6});
  g_world->broadcast(*g_backend, t, 0)->wait();
  EXPECT_EQ(to_host<std::int64_t>(t), (std::vector<std::int64_t>{5, -6}));
  expect_error([&] { g_world->broadcast(*g_backend, t, 1); },
               {"broadcast", "root 1 is not a group rank (0..0)"});
}

TEST(CommNccl, SplitGroupsOfOne) {
  // Color by world rank: every rank alone, as the tensor group of a data-parallel layout is.
  auto solo = g_comm->split("solo", g_comm->rank(), 0);
  EXPECT_EQ(solo->name(), "solo");
  EXPECT_EQ(solo->size(), 1);
  EXPECT_EQ(solo->rank(), 0);
  Tensor t = on_device<float>({2.0f, 3.0f});
  solo->all_reduce(*g_backend, t, ReduceOp::sum)->wait();
  Tensor out = g_backend->empty({2}, DType::f32);
  solo->all_gather(*g_backend, t, out)->wait();
  EXPECT_EQ(to_host<float>(out), (std::vector<float>{2.0f, 3.0f}));
  const CommTraffic traffic = solo->traffic();
  EXPECT_EQ(traffic.operations.at("all_reduce"), 1);
  EXPECT_EQ(traffic.operations.at("all_gather"), 1);
  EXPECT_EQ(traffic.bytes.at("all_reduce"), 0);  // a group of one moves nothing
}

TEST(CommNccl, SplitRefusesANegativeColor) {
  expect_error([] { g_comm->split("bad", -1, 0); }, {"split of group 'bad'", "color must be >= 0"});
}

TEST(CommNccl, SendAndRecvToSelfAreRefused) {
  // NCCL pairs a send to self only with a receive in the same group call; this interface posts each alone.
  Tensor t = on_device<float>({1.0f});
  expect_error([&] { g_world->send(*g_backend, t, 0, 3); },
               {"send", "'world'", "cannot send to or receive from itself"});
  expect_error([&] { g_world->recv(*g_backend, t, 0, 3); },
               {"recv", "'world'", "cannot send to or receive from itself"});
  expect_error([&] { g_world->send(*g_backend, t, 1, 3); }, {"send", "peer 1 is not a group rank"});
}

TEST(CommNccl, HostTensorIsAClearError) {
  Tensor t = host_tensor({4}, DType::f32);
  expect_error([&] { g_world->all_reduce(*g_backend, t, ReduceOp::sum); },
               {"all_reduce on group 'world'", "the tensor must be in CUDA device memory", "f32 (4) on cpu",
                "parallel.communicator = \"mpi\""});
  Tensor out = g_backend->empty({4}, DType::f32);
  expect_error([&] { g_world->all_gather(*g_backend, t, out); },
               {"all_gather", "the input tensor", "on cpu"});
}

TEST(CommNccl, RejectedCallsAreNotCounted) {
  auto group = g_comm->split("numbered", 0, 0);
  Tensor host = host_tensor({1}, DType::f32);
  expect_error([&] { group->all_reduce(*g_backend, host, ReduceOp::sum); }, {"all_reduce"});
  Tensor t = on_device<float>({1.0f});
  group->all_reduce(*g_backend, t, ReduceOp::sum)->wait();
  EXPECT_EQ(group->traffic().operations.at("all_reduce"), 1);
}

TEST(CommNccl, OrderedWithTheBackendStreamWithoutBlockingTheHost) {
  Tensor in = on_device<float>({1.0f, 2.0f, 3.0f, 4.0f});
  Tensor out = g_backend->empty({4}, DType::f32);
  // The backend's stream is busy for 300 ms, then doubles `in`: the gather must see the doubled values.
  ASSERT_EQ(test::hold_stream(g_backend->stream(), 300), cudaSuccess);
  g_backend->run(ops::scale, ops::ScaleArgs{in, 2.0});
  const auto start = std::chrono::steady_clock::now();
  WorkHandle work = g_world->all_gather(*g_backend, in, out);
  // Which side broke the order, if test() is wrong: the backend's stream must still be in the host function.
  EXPECT_EQ(cudaStreamQuery(g_backend->stream()), cudaErrorNotReady)
      << "the backend's stream is already idle: the host function did not hold it";
  EXPECT_FALSE(work->test()) << "the gather cannot have run: the backend's stream is still busy";
  work->wait();
  // Queued after wait(): runs after the gather, so it triples the gathered values.
  g_backend->run(ops::scale, ops::ScaleArgs{out, 3.0});
  const double host_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(host_seconds, 0.15) << "posting and wait() blocked the host";
  EXPECT_EQ(to_host<float>(out), (std::vector<float>{6.0f, 12.0f, 18.0f, 24.0f}));
  EXPECT_TRUE(work->test());
}

TEST(CommNccl, WorkDestroyedWithoutWaitOrdersTheStreamToo) {
  Tensor in = on_device<float>({1.0f, 2.0f});
  Tensor out = g_backend->empty({2}, DType::f32);
  g_world->all_gather(*g_backend, in, out);  // the handle goes away at once: its destructor waits
  g_backend->run(ops::scale, ops::ScaleArgs{out, 10.0});
  EXPECT_EQ(to_host<float>(out), (std::vector<float>{10.0f, 20.0f}));
}

// The stall scenario: see the file comment. Returns only if the watchdog failed to end the process.
int run_stall_test() {
  g_comm->set_timeout(1.0);
  auto group = g_comm->split("stall", 0, 0);
  Tensor t = on_device<float>({1.0f});
  if (test::hold_stream(g_backend->stream(), 30000) != cudaSuccess) {
    std::printf("stall test: could not launch the kernel that holds the stream\n");
    return 1;
  }
  group->all_reduce(*g_backend, t, ReduceOp::sum)->wait();
  g_backend->synchronize();  // blocks behind the stall; the watchdog ends the process meanwhile
  std::printf("stall test: the watchdog did not end the process\n");
  return 0;
}

}  // namespace
}  // namespace mtnlg::comm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  using namespace mtnlg;
  std::string why;
  if (!comm::NcclCommunicator::available(why)) {
    std::printf("SKIP: the comm/nccl tests need a GPU: %s\n", why.c_str());
    return 77;
  }
  Table backend_params;
  backend_params.set("device", Value(std::int64_t{-1}));
  backend_params.set("tf32", Value(false));
  const Table no_params, recipe;
  cuda::CudaBackend backend(CreateArgs{backend_params, recipe});
  backend.set_component_label("backend 'cuda'");
  comm::NcclCommunicator communicator(CreateArgs{no_params, recipe});
  communicator.set_component_label("communicator 'nccl'");
  comm::g_backend = &backend;
  comm::g_comm = &communicator;
  if (argc > 1 && std::string(argv[1]) == "--stall-test") return comm::run_stall_test();
  communicator.set_timeout(30);  // a test that hangs ends the run instead
  auto world = communicator.split("world", 0, 0);
  comm::g_world = world.get();
  return RUN_ALL_TESTS();
}
