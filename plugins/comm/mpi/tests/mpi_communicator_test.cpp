// Tests of the comm/mpi communicator. The binary runs on every rank under mpirun (see CMakeLists.txt): main()
// creates the communicator, every rank runs every test in the same order (tests are collective), and a
// failure on any rank makes every rank exit non-zero. Expected values are computed from the world size, so
// the same tests run with 1, 3 and 4 ranks.
//
// `--stall-test[=SECONDS]` runs the stall scenario instead (stall_test.sh): all-reduces in a loop on a group
// 'tensor' of every rank, with a timeout of SECONDS (default 3); rank 1 stops itself (SIGSTOP) just before
// its 5th all-reduce, and the others must report it and end the job.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mpi_communicator.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/config.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/half.hpp"

namespace mtnlg::comm {
namespace {

// A host-memory backend whose stream is deferred: submitted work runs only at synchronize(), so a
// communicator that forgot to synchronise would see stale data.
class DeferredHostBackend final : public Backend {
 public:
  Device device() const override { return {DeviceKind::cpu, 0}; }
  int synchronizations = 0;

 protected:
  std::shared_ptr<Storage> do_allocate(std::size_t bytes) override {
    void* data = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    return std::make_shared<Storage>(data, bytes, device(), [](void* p, std::size_t) { std::free(p); });
  }
  void do_upload(const Tensor& dst, const void* src) override {
    do_submit([dst, src](ExecContext&) { std::memcpy(dst.data(), src, dst.nbytes()); });
  }
  void do_download(void* dst, const Tensor& src) override {
    do_submit([dst, src](ExecContext&) { std::memcpy(dst, src.data(), src.nbytes()); });
  }
  void do_submit(std::function<void(ExecContext&)> work) override { queue_.push_back(std::move(work)); }
  void do_synchronize() override {
    ++synchronizations;
    ExecContext ctx{*this, nullptr};
    while (!queue_.empty()) {
      auto work = std::move(queue_.front());
      queue_.pop_front();
      work(ctx);
    }
  }
  AllocStats do_alloc_stats() const override { return {}; }

 private:
  std::deque<std::function<void(ExecContext&)>> queue_;
};

MpiCommunicator* g_comm = nullptr;
ProcessGroup* g_world = nullptr;  // every rank, in world order, named "world"

int rank() {
  return g_comm->rank();
}
int size() {
  return g_comm->size();
}

template <class T>
Tensor filled(std::int64_t n, const std::function<T(std::int64_t)>& value) {
  Tensor t = host_tensor({n}, dtype_of<T>());
  for (std::int64_t i = 0; i < n; ++i) t.data_as<T>()[i] = value(i);
  return t;
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

template <class T>
void check_all_reduce(ReduceOp op) {
  DeferredHostBackend backend;
  const std::int64_t n = 7;
  const int p = size(), r = rank();
  // Each rank contributes (r + 1) * (i + 1) - 3 * r, negative for some ranks and elements.
  auto mine = [&](int rr, std::int64_t i) { return static_cast<T>((rr + 1) * (i + 1) - 3 * rr); };
  Tensor t = filled<T>(n, [&](std::int64_t i) { return mine(r, i); });
  g_world->all_reduce(backend, t, op)->wait();
  for (std::int64_t i = 0; i < n; ++i) {
    T expected = op == ReduceOp::sum ? T(0) : mine(0, i);
    for (int rr = 0; rr < p; ++rr)
      expected = op == ReduceOp::sum ? expected + mine(rr, i) : std::max(expected, mine(rr, i));
    EXPECT_EQ(t.data_as<T>()[i], expected) << "element " << i;
  }
  EXPECT_GE(backend.synchronizations, 1);
}

TEST(CommMpi, WorldGroup) {
  EXPECT_EQ(g_world->name(), "world");
  EXPECT_EQ(g_world->size(), size());
  EXPECT_EQ(g_world->rank(), rank());
  for (int i = 0; i < size(); ++i) EXPECT_EQ(g_world->world_rank(i), i);
}

TEST(CommMpi, AllReduceSumF32) {
  check_all_reduce<float>(ReduceOp::sum);
}
TEST(CommMpi, AllReduceMaxF32) {
  check_all_reduce<float>(ReduceOp::max);
}
TEST(CommMpi, AllReduceSumF64) {
  check_all_reduce<double>(ReduceOp::sum);
}
TEST(CommMpi, AllReduceMaxF64) {
  check_all_reduce<double>(ReduceOp::max);
}
TEST(CommMpi, AllReduceSumI32) {
  check_all_reduce<std::int32_t>(ReduceOp::sum);
}
TEST(CommMpi, AllReduceMaxI32) {
  check_all_reduce<std::int32_t>(ReduceOp::max);
}
TEST(CommMpi, AllReduceSumI64) {
  check_all_reduce<std::int64_t>(ReduceOp::sum);
}

TEST(CommMpi, LargeMessages) {
  // Big enough for the rendezvous protocol and shared-memory single copy (not just eager messages).
  DeferredHostBackend backend;
  const std::int64_t n = 1 << 18;  // 1 MiB of f32
  Tensor t = filled<float>(n, [](std::int64_t i) { return static_cast<float>(rank() + (i % 7)); });
  g_world->all_reduce(backend, t, ReduceOp::sum)->wait();
  const float ranks = static_cast<float>(size() * (size() - 1) / 2);
  for (std::int64_t i = 0; i < n; i += 4099) EXPECT_EQ(t.data_as<float>()[i], ranks + size() * (i % 7));
  Tensor out = host_tensor({n * size()}, DType::f32);
  g_world->all_gather(backend, t, out)->wait();
  EXPECT_EQ(out.data_as<float>()[n * size() - 1], t.data_as<float>()[n - 1]);
}

TEST(CommMpi, SynchronizesTheStreamBeforeReading) {
  DeferredHostBackend backend;
  Tensor t = backend.empty({4}, DType::f32);
  // Queued, not yet run: the communicator must synchronise the stream before handing t to MPI.
  backend.submit([t](ExecContext&) {
    for (int i = 0; i < 4; ++i) t.data_as<float>()[i] = 1.0f;
  });
  g_world->all_reduce(backend, t, ReduceOp::sum)->wait();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.data_as<float>()[i], static_cast<float>(size()));
}

TEST(CommMpi, AllGatherOutOfPlace) {
  DeferredHostBackend backend;
  const std::int64_t n = 5;
  Tensor in =
      filled<std::int32_t>(n, [](std::int64_t i) { return static_cast<std::int32_t>(100 * rank() + i); });
  Tensor out = host_tensor({size() * n}, DType::i32);
  g_world->all_gather(backend, in, out)->wait();
  for (int rr = 0; rr < size(); ++rr)
    for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(out.data_as<std::int32_t>()[rr * n + i], 100 * rr + i);
}

TEST(CommMpi, AllGatherInPlace) {
  DeferredHostBackend backend;
  const std::int64_t n = 3;
  Tensor out = filled<double>(size() * n, [](std::int64_t) { return -1.0; });
  Tensor in = out.sub_buffer(rank() * n, {n});
  for (std::int64_t i = 0; i < n; ++i) in.data_as<double>()[i] = 0.5 * rank() + static_cast<double>(i);
  g_world->all_gather(backend, in, out)->wait();
  for (int rr = 0; rr < size(); ++rr)
    for (std::int64_t i = 0; i < n; ++i)
      EXPECT_EQ(out.data_as<double>()[rr * n + i], 0.5 * rr + static_cast<double>(i));
}

TEST(CommMpi, AllGatherRejectsAnOverlapThatIsNotThisRanksSlice) {
  DeferredHostBackend backend;
  Tensor out = host_tensor({size() * 2 + 1}, DType::f32);
  Tensor in = out.sub_buffer(1, {2});  // overlaps out, but at no rank's slice boundary
  expect_error([&] { g_world->all_gather(backend, in, out.sub_buffer(0, {size() * 2})); },
               {"all_gather", "'world'", "overlaps"});
}

TEST(CommMpi, ReduceScatter) {
  DeferredHostBackend backend;
  const std::int64_t n = 4;
  const int p = size();
  Tensor in = filled<float>(p * n, [](std::int64_t j) { return static_cast<float>(1000 * rank() + j); });
  Tensor out = host_tensor({n}, DType::f32);
  g_world->reduce_scatter(backend, in, out)->wait();
  for (std::int64_t k = 0; k < n; ++k) {
    const float expected = static_cast<float>(1000 * p * (p - 1) / 2 + p * (rank() * n + k));
    EXPECT_EQ(out.data_as<float>()[k], expected) << "element " << k;
  }
}

TEST(CommMpi, BroadcastFromTheLastRank) {
  DeferredHostBackend backend;
  const int root = size() - 1;  // non-zero whenever there is more than one rank
  Tensor t = filled<std::int64_t>(6, [](std::int64_t i) { return rank() == size() - 1 ? 7 * i + 1 : -5; });
  g_world->broadcast(backend, t, root)->wait();
  for (std::int64_t i = 0; i < 6; ++i) EXPECT_EQ(t.data_as<std::int64_t>()[i], 7 * i + 1);
}

TEST(CommMpi, SendRecvRingWithTagsOutOfOrder) {
  DeferredHostBackend backend;
  const int p = size(), r = rank();
  const int right = (r + 1) % p, left = (r + p - 1) % p;
  const std::vector<int> tags = {11, 3, 7};
  std::vector<Tensor> inbox, outbox;
  std::vector<WorkHandle> works;
  // All receives first, in a different tag order than the sends.
  for (int k : {2, 0, 1}) {
    inbox.push_back(host_tensor({8}, DType::f32));
    works.push_back(g_world->recv(backend, inbox.back(), left, tags[k]));
  }
  for (int k : {0, 1, 2}) {
    outbox.push_back(
        filled<float>(8, [&](std::int64_t i) { return static_cast<float>(100 * r + 10 * k + i); }));
    works.push_back(g_world->send(backend, outbox.back(), right, tags[k]));
  }
  for (auto it = works.rbegin(); it != works.rend(); ++it) (*it)->wait();  // reverse order
  const int recv_order[] = {2, 0, 1};
  for (int slot = 0; slot < 3; ++slot) {
    const int k = recv_order[slot];
    for (std::int64_t i = 0; i < 8; ++i)
      EXPECT_EQ(inbox[slot].data_as<float>()[i], static_cast<float>(100 * left + 10 * k + i))
          << "tag " << tags[k] << " element " << i;
  }
}

TEST(CommMpi, RecvOfTheWrongSizeFails) {
  DeferredHostBackend backend;
  // Shorter than the receive: MPI accepts it, the communicator does not.
  Tensor big = host_tensor({3}, DType::i32);
  auto recv = g_world->recv(backend, big, rank(), 5);
  g_world->send(backend, filled<std::int32_t>(1, [](std::int64_t) { return 9; }), rank(), 5)->wait();
  expect_error([&] { recv->wait(); }, {"recv #", "received 1 elements, expected 3"});
  // Longer than the receive: MPI's truncation error, with the operation named. (Between ranks only: OpenMPI
  // 4.1 truncates a message to itself silently.)
  if (size() > 1) {
    const int right = (rank() + 1) % size(), left = (rank() + size() - 1) % size();
    Tensor small = host_tensor({2}, DType::i32);
    recv = g_world->recv(backend, small, left, 6);
    g_world->send(backend, filled<std::int32_t>(3, [](std::int64_t) { return 9; }), right, 6)->wait();
    expect_error([&] { recv->wait(); }, {"MPI_Test for recv #", "tag 6", "group 'world'", "truncated"});
  }
}

TEST(CommMpi, SplitByColorWithReversedKeys) {
  DeferredHostBackend backend;
  const int p = size(), r = rank();
  const int color = r % 2;
  auto group = g_comm->split(color == 0 ? "even" : "odd", color, -r);  // key reverses the order
  std::vector<int> members;  // world ranks of this color, in group order (descending)
  for (int w = p - 1; w >= 0; --w)
    if (w % 2 == color) members.push_back(w);
  ASSERT_EQ(group->size(), static_cast<int>(members.size()));
  for (int g = 0; g < group->size(); ++g) {
    EXPECT_EQ(group->world_rank(g), members[static_cast<std::size_t>(g)]);
    if (members[static_cast<std::size_t>(g)] == r) {
      EXPECT_EQ(group->rank(), g);
    }
  }
  EXPECT_EQ(group->name(), color == 0 ? "even" : "odd");
  // A collective in the group sums only its members.
  Tensor t = filled<std::int32_t>(1, [&](std::int64_t) { return r; });
  group->all_reduce(backend, t, ReduceOp::sum)->wait();
  int expected = 0;
  for (int w : members) expected += w;
  EXPECT_EQ(t.data_as<std::int32_t>()[0], expected);
  EXPECT_THROW(group->world_rank(group->size()), Error);
}

TEST(CommMpi, SingleRankGroupAllReduceCompletesAtOnce) {
  DeferredHostBackend backend;
  auto alone = g_comm->split("alone", rank(), 0);
  ASSERT_EQ(alone->size(), 1);
  Tensor t = filled<float>(3, [](std::int64_t i) { return static_cast<float>(i); });
  auto work = alone->all_reduce(backend, t, ReduceOp::sum);
  EXPECT_TRUE(work->test());
  work->wait();
  EXPECT_EQ(t.data_as<float>()[2], 2.0f);
  const CommTraffic traffic = alone->traffic();
  EXPECT_EQ(traffic.operations.at("all_reduce"), 1);
  EXPECT_EQ(traffic.bytes.at("all_reduce"), 0);
}

TEST(CommMpi, TrafficCountsAsARing) {
  DeferredHostBackend backend;
  auto group = g_comm->split("traffic", 0, rank());
  const std::int64_t p = size();
  Tensor a = filled<float>(12 * p, [](std::int64_t) { return 1.0f; });  // 48p bytes
  group->all_reduce(backend, a, ReduceOp::sum)->wait();
  group->all_reduce(backend, a, ReduceOp::max)->wait();
  Tensor out = host_tensor({4 * p}, DType::f64);  // 32p bytes
  group->all_gather(backend, out.sub_buffer(4 * rank(), {4}), out)->wait();
  Tensor part = host_tensor({12}, DType::f32);
  group->reduce_scatter(backend, a, part)->wait();
  Tensor b = filled<std::int32_t>(10, [](std::int64_t) { return 0; });  // 40 bytes
  group->broadcast(backend, b, 0)->wait();
  const int right = static_cast<int>((rank() + 1) % p), left = static_cast<int>((rank() + p - 1) % p);
  Tensor inbox = host_tensor({10}, DType::i32);
  auto recv = group->recv(backend, inbox, left, 0);
  group->send(backend, b, right, 0)->wait();
  recv->wait();

  const CommTraffic t = group->traffic();
  EXPECT_EQ(t.operations.at("all_reduce"), 2);
  EXPECT_EQ(t.bytes.at("all_reduce"), 2 * (2 * (p - 1) * 48 * p / p));
  EXPECT_EQ(t.operations.at("all_gather"), 1);
  EXPECT_EQ(t.bytes.at("all_gather"), (p - 1) * 32 * p / p);
  EXPECT_EQ(t.operations.at("reduce_scatter"), 1);
  EXPECT_EQ(t.bytes.at("reduce_scatter"), (p - 1) * 48 * p / p);
  EXPECT_EQ(t.operations.at("broadcast"), 1);
  EXPECT_EQ(t.bytes.at("broadcast"), (p - 1) * 40 / p);
  EXPECT_EQ(t.operations.at("send"), 1);
  EXPECT_EQ(t.bytes.at("send"), 40);
  EXPECT_EQ(t.operations.at("recv"), 1);
  EXPECT_EQ(t.bytes.at("recv"), 0);
  EXPECT_EQ(t.operations.size(), 6u);
}

TEST(CommMpi, WorkDestroyedWithoutWaitCompletes) {
  DeferredHostBackend backend;
  Tensor t = filled<std::int32_t>(2, [](std::int64_t) { return 2; });
  { auto work = g_world->all_reduce(backend, t, ReduceOp::sum); }  // never waited for
  EXPECT_EQ(t.data_as<std::int32_t>()[0], 2 * size());
  EXPECT_EQ(t.data_as<std::int32_t>()[1], 2 * size());
}

TEST(CommMpi, NonContiguousTensorIsRejected) {
  DeferredHostBackend backend;
  Tensor t = host_tensor({3, 4}, DType::f32).transpose(0, 1);
  expect_error([&] { g_world->all_reduce(backend, t, ReduceOp::sum); },
               {"all_reduce", "group 'world'", "contiguous", t.describe()});
  expect_error([&] { g_world->send(backend, t, 0, 0); }, {"send", "group 'world'", "contiguous"});
}

TEST(CommMpi, NonHostTensorIsRejected) {
  DeferredHostBackend backend;
  auto storage =
      std::make_shared<Storage>(nullptr, 64, Device{DeviceKind::meta, 0}, [](void*, std::size_t) {});
  Tensor t(storage, {16}, DType::f32);
  expect_error([&] { g_world->broadcast(backend, t, 0); },
               {"broadcast", "group 'world'", "host memory", t.describe()});
  expect_error([&] { g_world->all_gather(backend, t, host_tensor({16 * size()}, DType::f32)); },
               {"all_gather", "group 'world'", "host memory"});
  expect_error([&] { g_world->all_reduce(backend, Tensor(), ReduceOp::sum); }, {"all_reduce", "undefined"});
}

TEST(CommMpi, SixteenBitReductionsWidenAddAndRoundOnce) {
  // MPI has no 16-bit arithmetic: half_reductions.hpp's operations do it. The values are exact in bf16 and
  // f16 (and so are their sums), so any order of additions gives the expected bits; a reduction that summed
  // the raw 16-bit patterns as integers, or dropped a rank's contribution, would not.
  DeferredHostBackend backend;
  const int n = size();
  for (DType dtype : {DType::bf16, DType::f16}) {
    SCOPED_TRACE(std::string(dtype_name(dtype)));
    const auto to16 = [&](double x) { return dtype == DType::bf16 ? to_bf16(x).bits : to_f16(x).bits; };
    const auto from16 = [&](std::uint16_t b) {
      return dtype == DType::bf16 ? to_float(bf16{b}) : to_float(f16{b});
    };
    Tensor t = host_tensor({3}, dtype);
    auto* bits = static_cast<std::uint16_t*>(t.data());
    for (int i = 0; i < 3; ++i) bits[i] = to16(1.0 + 0.25 * rank() + i);
    g_world->all_reduce(backend, t, ReduceOp::sum)->wait();
    for (int i = 0; i < 3; ++i) {
      double sum = 0.0;  // every contribution and every partial sum is exact in both formats here
      for (int r = 0; r < n; ++r) sum += 1.0 + 0.25 * r + i;
      EXPECT_EQ(from16(bits[i]), static_cast<float>(sum)) << "element " << i;
    }
    for (int i = 0; i < 3; ++i) bits[i] = to16(rank() == n - 1 ? 7.5 : -1.0 * i);
    g_world->all_reduce(backend, t, ReduceOp::max)->wait();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(from16(bits[i]), 7.5f);
    Tensor in = host_tensor({2 * n}, dtype), out = host_tensor({2}, dtype);
    for (int i = 0; i < 2 * n; ++i) static_cast<std::uint16_t*>(in.data())[i] = to16(0.5 * i);
    g_world->reduce_scatter(backend, in, out)->wait();
    for (int i = 0; i < 2; ++i)
      EXPECT_EQ(from16(static_cast<std::uint16_t*>(out.data())[i]),
                static_cast<float>(n * 0.5 * (2 * rank() + i)));
  }
}

TEST(CommMpi, SixteenBitFloatsMoveAsTheirBits) {
  DeferredHostBackend backend;
  // Moving 16-bit floats needs no arithmetic: they travel as their bits.
  Tensor in = host_tensor({2}, DType::bf16), out = host_tensor({2 * size()}, DType::bf16);
  for (int i = 0; i < 2; ++i)
    static_cast<std::uint16_t*>(in.data())[i] = static_cast<std::uint16_t>(rank() * 10 + i);
  g_world->all_gather(backend, in, out)->wait();
  for (int rr = 0; rr < size(); ++rr)
    EXPECT_EQ(static_cast<std::uint16_t*>(out.data())[2 * rr + 1], static_cast<std::uint16_t>(rr * 10 + 1));
}

TEST(CommMpi, BadArgumentsAreClearErrors) {
  DeferredHostBackend backend;
  Tensor t = host_tensor({4}, DType::f32);
  expect_error([&] { g_world->send(backend, t, size(), 0); }, {"send", "peer", "not a group rank"});
  expect_error([&] { g_world->recv(backend, t, 0, -1); }, {"recv", "tag -1"});
  expect_error([&] { g_world->broadcast(backend, t, -1); }, {"broadcast", "root -1"});
  expect_error([&] { g_world->all_gather(backend, t, host_tensor({4 * size() + 1}, DType::f32)); },
               {"all_gather", "size * input"});
  expect_error([&] { g_world->all_gather(backend, t, host_tensor({4 * size()}, DType::f64)); },
               {"all_gather", "dtype"});
  expect_error([&] { g_world->reduce_scatter(backend, host_tensor({4 * size() + 1}, DType::f32), t); },
               {"reduce_scatter", "size * output"});
  expect_error([&] { g_comm->set_timeout(-1); }, {"timeout"});
}

TEST(CommMpi, OtherThreadsAreRefused) {
  DeferredHostBackend backend;
  Tensor t = host_tensor({4}, DType::f32);
  std::string message;
  std::thread other([&] {
    try {
      g_world->all_reduce(backend, t, ReduceOp::sum);
    } catch (const Error& e) {
      message = e.what();
    }
  });
  other.join();
  EXPECT_NE(message.find("MPI_THREAD_FUNNELED"), std::string::npos) << message;
}

// Prints failures of ranks other than 0 (whose default printer is removed to keep the log readable).
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] FAILED %s at %s:%d\n%s\n", rank_, test_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(), result.message());
  }

 private:
  int rank_;
  std::string test_;
};

int stall_test(MpiCommunicator& comm, double timeout) {
  comm.set_timeout(timeout);
  auto group = comm.split("tensor", 0, comm.rank());
  DeferredHostBackend backend;
  Tensor t = host_tensor({16}, DType::f32);
  for (int i = 1; i <= 50; ++i) {
    if (comm.rank() == 1 && i == 5) std::raise(SIGSTOP);  // stalls just before its 5th all-reduce
    for (int k = 0; k < 16; ++k) t.data_as<float>()[k] = 1.0f;
    group->all_reduce(backend, t, ReduceOp::sum)->wait();
    if (t.data_as<float>()[0] != static_cast<float>(comm.size())) {
      std::fprintf(stderr, "stall test: wrong all-reduce result on rank %d\n", comm.rank());
      return 2;
    }
  }
  std::fprintf(stderr, "stall test: rank %d finished 50 all-reduces without a timeout\n", comm.rank());
  return 0;
}

}  // namespace
}  // namespace mtnlg::comm

int main(int argc, char** argv) {
  using namespace mtnlg;
  ::testing::InitGoogleTest(&argc, argv);
  const Table params, recipe;
  auto comm = std::make_unique<comm::MpiCommunicator>(CreateArgs{params, recipe});
  double stall_timeout = -1;  // < 0: not the stall scenario; the last --stall-test[=S] wins
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--stall-test") stall_timeout = 3.0;
    if (arg.rfind("--stall-test=", 0) == 0) stall_timeout = std::atof(arg.c_str() + 13);
  }
  if (stall_timeout >= 0) return comm::stall_test(*comm, stall_timeout);
  comm->set_timeout(30);  // a test that leaves ranks out of step ends the job instead of hanging it
  comm::g_comm = comm.get();
  auto world = comm->split("world", 0, comm->rank());
  comm::g_world = world.get();
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (comm->rank() != 0) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new comm::RankFailurePrinter(comm->rank()));
  }
  const int result = RUN_ALL_TESTS();

  // Every rank learns whether any rank failed, and exits accordingly.
  comm::DeferredHostBackend backend;
  Tensor failed = host_tensor({1}, DType::i32);
  failed.data_as<std::int32_t>()[0] = result != 0 ? 1 : 0;
  world->all_reduce(backend, failed, ReduceOp::max)->wait();
  const bool any_failed = failed.data_as<std::int32_t>()[0] != 0;
  if (any_failed && comm->rank() == 0) std::fprintf(stderr, "comm_mpi tests: a test failed on some rank\n");
  world.reset();
  comm.reset();  // MPI_Finalize
  return any_failed ? 1 : 0;
}
