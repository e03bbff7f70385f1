// comm/mpi with device tensors: a tensor that is not host memory is downloaded, moved by MPI on the host and
// uploaded back. Checked without a GPU through a stand-in backend that reports its memory as cuda:0 (it is
// host memory underneath), defers its work to synchronize() as a GPU stream would, and counts transfers.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>

#include "mtnlg/backend.hpp"
#include "mtnlg/config.hpp"
#include "mtnlg/error.hpp"

#include "mpi_communicator.hpp"

using namespace mtnlg;

namespace {

class StandInDeviceBackend final : public Backend {
 public:
  Device device() const override { return {DeviceKind::cuda, 0}; }
  int uploads = 0, downloads = 0;

 protected:
  std::shared_ptr<Storage> do_allocate(std::size_t bytes) override {
    void* data = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    return std::make_shared<Storage>(data, bytes, device(), [](void* p, std::size_t) { std::free(p); });
  }
  void do_upload(const Tensor& dst, const void* src) override {
    ++uploads;
    do_submit([dst, src](ExecContext&) { std::memcpy(dst.data(), src, dst.nbytes()); });
  }
  void do_download(void* dst, const Tensor& src) override {
    ++downloads;
    do_submit([dst, src](ExecContext&) { std::memcpy(dst, src.data(), src.nbytes()); });
  }
  void do_submit(std::function<void(ExecContext&)> work) override { queue_.push_back(std::move(work)); }
  void do_synchronize() override {
    ExecContext ctx{*this, nullptr};
    while (!queue_.empty()) {
      auto w = std::move(queue_.front());
      queue_.pop_front();
      w(ctx);
    }
  }
  AllocStats do_alloc_stats() const override { return {}; }

 private:
  std::deque<std::function<void(ExecContext&)>> queue_;
};

comm::MpiCommunicator* g_comm;
ProcessGroup* g_world;
int rank() {
  return g_comm->rank();
}
int world() {
  return g_comm->size();
}

Tensor on_device(StandInDeviceBackend& b, std::vector<float> v) {
  Tensor t = b.empty({static_cast<std::int64_t>(v.size())}, DType::f32);
  std::memcpy(t.data(), v.data(), v.size() * 4);  // host memory: direct fill
  return t;
}
std::vector<float> read(const Tensor& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  std::memcpy(v.data(), t.data(), t.nbytes());
  return v;
}

TEST(Staging, AllReduce) {
  StandInDeviceBackend b;
  Tensor t = on_device(b, {1.0f * (rank() + 1), 2.0f});
  g_world->all_reduce(b, t, ReduceOp::sum)->wait();
  float s = world() * (world() + 1) / 2.0f;
  EXPECT_EQ(read(t), (std::vector<float>{s, 2.0f * world()}));
  EXPECT_EQ(b.downloads, world() > 1 ? 1 : 0);
  EXPECT_EQ(b.uploads, world() > 1 ? 1 : 0);
}
TEST(Staging, AllGatherOutOfPlaceAndInPlace) {
  StandInDeviceBackend b;
  Tensor in = on_device(b, {float(rank()), float(10 + rank())});
  Tensor out = b.empty({2 * world()}, DType::f32);
  g_world->all_gather(b, in, out)->wait();
  for (int r = 0; r < world(); ++r) {
    EXPECT_EQ(read(out)[2 * r], r);
    EXPECT_EQ(read(out)[2 * r + 1], 10 + r);
  }
  EXPECT_EQ(b.downloads, 1);
  EXPECT_EQ(b.uploads, 1);
  Tensor buf = b.empty({2 * world()}, DType::f32);
  std::memset(buf.data(), 0, buf.nbytes());
  Tensor mine = buf.sub_buffer(2 * rank(), {2});
  std::memcpy(mine.data(), in.data(), 8);
  g_world->all_gather(b, mine, buf)->wait();
  EXPECT_EQ(read(buf), read(out));
  EXPECT_EQ(b.downloads, 2);
  EXPECT_EQ(b.uploads, 2);
}
TEST(Staging, ReduceScatter) {
  StandInDeviceBackend b;
  std::vector<float> v(2 * world());
  for (int i = 0; i < 2 * world(); ++i) v[i] = i + rank();
  Tensor in = on_device(b, v);
  Tensor out = b.empty({2}, DType::f32);
  g_world->reduce_scatter(b, in, out)->wait();
  float base = world() * (world() - 1) / 2.0f;
  EXPECT_EQ(read(out),
            (std::vector<float>{world() * (2.0f * rank()) + base, world() * (2.0f * rank() + 1) + base}));
}
TEST(Staging, BroadcastDownloadsOnRootUploadsElsewhere) {
  StandInDeviceBackend b;
  Tensor t = on_device(b, {float(rank() + 5)});
  g_world->broadcast(b, t, 0)->wait();
  EXPECT_EQ(read(t)[0], 5.0f);
  EXPECT_EQ(b.downloads, rank() == 0 ? 1 : 0);
  EXPECT_EQ(b.uploads, rank() == 0 ? 0 : 1);
}
TEST(Staging, SendRecvRingMixedHostAndDevice) {
  if (world() == 1) GTEST_SKIP();
  StandInDeviceBackend b;
  Tensor s = on_device(b, {float(rank()), 1.0f});
  Tensor r_dev = b.empty({2}, DType::f32);
  Tensor r_host = host_tensor({2}, DType::f32);
  auto w1 = g_world->send(b, s, (rank() + 1) % world(), 1);
  auto w2 = g_world->recv(b, r_dev, (rank() + world() - 1) % world(), 1);
  w2->wait();
  w1->wait();
  EXPECT_EQ(read(r_dev)[0], float((rank() + world() - 1) % world()));
  Tensor hs = host_tensor({2}, DType::f32);
  std::memcpy(hs.data(), s.data(), 8);
  auto w3 = g_world->send(b, s, (rank() + 1) % world(), 2);  // device -> host
  auto w4 = g_world->recv(b, r_host, (rank() + world() - 1) % world(), 2);
  w4->wait();
  w3->wait();
  EXPECT_EQ(r_host.data_as<float>()[0], float((rank() + world() - 1) % world()));
}
TEST(Staging, TensorOnAnotherDeviceIsAClearError) {
  StandInDeviceBackend b;
  auto storage = std::make_shared<Storage>(std::malloc(64), 64, Device{DeviceKind::cuda, 1},
                                           [](void* p, std::size_t) { std::free(p); });
  Tensor t(storage, {16}, DType::f32);
  try {
    g_world->all_reduce(b, t, ReduceOp::sum);
    ADD_FAILURE();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("not on the device of the backend passed (cuda:0)"), std::string::npos) << m;
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  Table none;
  comm::MpiCommunicator c(CreateArgs{none, none});
  c.set_timeout(20);
  g_comm = &c;
  auto w = c.split("world", 0, c.rank());
  g_world = w.get();
  if (c.rank() != 0) ::testing::GTEST_FLAG(print_time) = false;
  int rc = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
