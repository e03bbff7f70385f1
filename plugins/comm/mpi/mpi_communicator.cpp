#include "mpi_communicator.hpp"

#include "half_reductions.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <numeric>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "mtnlg/backend.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::comm {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kQueryTag = 1;                 // status channel: "what are you waiting in?"
constexpr int kReplyTag = 2;                 // status channel: the answer (a StatusReply)
constexpr double kReplyWindowSeconds = 2.0;  // how long a timed-out rank waits for answers
constexpr auto kBusyPoll = std::chrono::microseconds(100);
constexpr auto kFirstSleep = std::chrono::microseconds(10);
constexpr auto kMaxSleep = std::chrono::microseconds(1000);

std::string mpi_error_string(int rc) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) return str("MPI error code ", rc);
  return std::string(text, static_cast<std::size_t>(length));
}

template <std::size_t N>
void copy_field(char (&dst)[N], const std::string& src) {
  std::memset(dst, 0, N);
  std::memcpy(dst, src.data(), std::min(src.size(), N - 1));
}

template <std::size_t N>
std::string read_field(const char (&src)[N]) {
  return std::string(src, strnlen(src, N));
}

std::string join(const std::vector<int>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out;
}

std::string seconds_str(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

}  // namespace

// The fixed-size answer to a status query (sent as MPI_BYTE between identical binaries).
struct StatusReply {
  std::int32_t waiting = 0;  // 1: inside Work::wait()
  std::int32_t world_rank = -1;
  std::int64_t seq = 0;
  char op[32] = {};
  char group[64] = {};
};

struct MpiShared {
  bool owns_mpi = false;  // this process's MPI_Init_thread was ours: finalise at the end
  bool aborted = false;
  int world_rank = 0;
  int world_size = 1;
  int tag_ub = 32767;
  double timeout_seconds = 0.0;  // 0: wait forever
  MPI_Comm status_comm = MPI_COMM_NULL;
  std::thread::id owner = std::this_thread::get_id();

  // What this rank is waiting in, for status queries.
  bool waiting = false;
  std::string wait_op, wait_group;
  std::int64_t wait_seq = 0;

  struct PendingReply {
    std::unique_ptr<StatusReply> reply;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::vector<PendingReply> pending_replies;

  MpiShared() = default;
  MpiShared(const MpiShared&) = delete;
  MpiShared& operator=(const MpiShared&) = delete;

  ~MpiShared() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized) return;
    for (auto& p : pending_replies) {
      int done = 0;
      if (MPI_Test(&p.request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || !done) {
        // The asker is gone or slow: let MPI finish the send on its own and leave it the (tiny) buffer.
        MPI_Request_free(&p.request);
        (void)p.reply.release();
      }
    }
    if (status_comm != MPI_COMM_NULL) MPI_Comm_free(&status_comm);
    if (owns_mpi && !aborted) MPI_Finalize();
  }

  void check(int rc, std::string_view what) const {
    if (rc != MPI_SUCCESS) fail(str(what, " failed on rank ", world_rank, ": ", mpi_error_string(rc)));
  }

  void check_thread(std::string_view what) const {
    MTNLG_CHECK(std::this_thread::get_id() == owner,
                str(what, " called on rank ", world_rank,
                    " from a thread other than the one that created the communicator (MPI is initialised "
                    "with MPI_THREAD_FUNNELED: every MPI call must come from that thread)"));
  }

  // Answers every status query that has arrived, with non-blocking sends (a stalled asker cannot block us).
  void service_queries() {
    for (;;) {
      int flag = 0;
      MPI_Status status;
      check(MPI_Iprobe(MPI_ANY_SOURCE, kQueryTag, status_comm, &flag, &status),
            "MPI_Iprobe (status channel)");
      if (!flag) break;
      std::int32_t asker = -1;
      check(MPI_Recv(&asker, 1, MPI_INT32_T, status.MPI_SOURCE, kQueryTag, status_comm, MPI_STATUS_IGNORE),
            "MPI_Recv (status query)");
      PendingReply p;
      p.reply = std::make_unique<StatusReply>();
      p.reply->waiting = waiting ? 1 : 0;
      p.reply->world_rank = world_rank;
      p.reply->seq = wait_seq;
      copy_field(p.reply->op, wait_op);
      copy_field(p.reply->group, wait_group);
      check(MPI_Isend(p.reply.get(), static_cast<int>(sizeof(StatusReply)), MPI_BYTE, status.MPI_SOURCE,
                      kReplyTag, status_comm, &p.request),
            "MPI_Isend (status reply)");
      pending_replies.push_back(std::move(p));
    }
    std::erase_if(pending_replies, [this](PendingReply& p) {
      int done = 0;
      check(MPI_Test(&p.request, &done, MPI_STATUS_IGNORE), "MPI_Test (status reply)");
      return done != 0;
    });
  }

  [[noreturn]] void abort_job(int exit_code) {
    aborted = true;
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }
};

namespace {

struct GroupState {
  std::shared_ptr<MpiShared> shared;
  std::string name;
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  std::vector<int> world_ranks;  // by group rank
  std::int64_t collective_seq = 0;
  std::int64_t p2p_seq = 0;
  CommTraffic traffic;

  GroupState() = default;
  GroupState(const GroupState&) = delete;
  GroupState& operator=(const GroupState&) = delete;
  ~GroupState() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }

  std::string label() const { return str("group '", name, "' (world ranks ", join(world_ranks), ")"); }

  void count(const std::string& op, std::int64_t bytes) {
    traffic.bytes[op] += bytes;
    traffic.operations[op] += 1;
  }
};

// Marks this rank as waiting in an operation for as long as it lives (status queries report it).
class WaitingScope {
 public:
  WaitingScope(MpiShared& s, const std::string& op, const std::string& group, std::int64_t seq) : s_(s) {
    s_.waiting = true;
    s_.wait_op = op;
    s_.wait_group = group;
    s_.wait_seq = seq;
  }
  ~WaitingScope() {
    s_.waiting = false;
    s_.wait_op.clear();
    s_.wait_group.clear();
    s_.wait_seq = 0;
  }
  WaitingScope(const WaitingScope&) = delete;
  WaitingScope& operator=(const WaitingScope&) = delete;

 private:
  MpiShared& s_;
};

// A device tensor's host copy, which MPI reads and writes in its place (OpenMPI from Debian is not
// CUDA-aware), and which goes back to the device once an operation that writes the tensor completes.
struct Staged {
  Tensor device;
  Tensor host;
};

class MpiWork final : public Work {
 public:
  // `write_back` needs `stream`, the backend that holds its device tensors, alive until the Work completes.
  // A Work made complete (a null request) has nothing to write back.
  MpiWork(std::shared_ptr<GroupState> group, std::string op, std::int64_t seq, std::string what,
          MPI_Request request, std::vector<Tensor> keep_alive, Backend* stream = nullptr,
          std::vector<Staged> write_back = {}, std::int64_t expected_recv_count = -1,
          MPI_Datatype recv_type = MPI_DATATYPE_NULL)
      : group_(std::move(group)),
        op_(std::move(op)),
        seq_(seq),
        what_(std::move(what)),
        request_(request),
        keep_alive_(std::move(keep_alive)),
        stream_(stream),
        write_back_(std::move(write_back)),
        expected_recv_count_(expected_recv_count),
        recv_type_(recv_type),
        done_(request == MPI_REQUEST_NULL) {}

  ~MpiWork() override {
    if (done_) return;
    try {
      do_wait();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mtnlg: rank %d: %s, destroyed without wait(), failed while completing: %s\n",
                   group_->shared->world_rank, what_.c_str(), e.what());
      group_->shared->abort_job(1);
    } catch (...) {
      std::fprintf(stderr, "mtnlg: rank %d: %s, destroyed without wait(), failed while completing\n",
                   group_->shared->world_rank, what_.c_str());
      group_->shared->abort_job(1);
    }
  }

 protected:
  void do_wait() override {
    if (done_) return;
    MpiShared& s = *group_->shared;
    s.check_thread(what_);
    WaitingScope scope(s, op_, group_->name, seq_);
    const double timeout = s.timeout_seconds;
    const auto start = Clock::now();
    auto sleep = kFirstSleep;
    try {
      for (;;) {
        if (poll()) return;
        s.service_queries();
        const auto elapsed = Clock::now() - start;
        if (timeout > 0 && std::chrono::duration<double>(elapsed).count() >= timeout) timed_out(timeout);
        if (elapsed < kBusyPoll) continue;   // a short busy phase for operations that are about to finish
        std::this_thread::sleep_for(sleep);  // then back off: 8 ranks may share 2 cores
        sleep = std::min(sleep * 2, kMaxSleep);
      }
    } catch (...) {
      done_ = true;  // the request's state is unknown after an error: never wait for it again
      throw;
    }
  }

  bool do_test() override {
    if (done_) return true;
    group_->shared->check_thread(what_);
    return poll();
  }

 private:
  // One MPI_Test; true (and done_) once the operation completed.
  bool poll() {
    MpiShared& s = *group_->shared;
    int flag = 0;
    MPI_Status status;
    const int rc = MPI_Test(&request_, &flag, &status);
    if (rc != MPI_SUCCESS) {
      done_ = true;
      s.check(rc, str("MPI_Test for ", what_));
    }
    if (!flag) return false;
    done_ = true;
    if (expected_recv_count_ >= 0) {
      int received = 0;
      s.check(MPI_Get_count(&status, recv_type_, &received), str("MPI_Get_count for ", what_));
      MTNLG_CHECK(received == expected_recv_count_,
                  str(what_, " on rank ", s.world_rank, " received ", received, " elements, expected ",
                      expected_recv_count_, " (the matching send has a different size)"));
    }
    write_back();
    return true;
  }

  // Staged results go back to the device; the host copies stay alive until the uploads have run.
  void write_back() {
    if (write_back_.empty()) return;
    for (const Staged& staged : write_back_) stream_->upload(staged.device, staged.host.data());
    stream_->synchronize();
    write_back_.clear();
  }

  // Asks the group who is stalled, prints one line, ends the job.
  [[noreturn]] void timed_out(double timeout) {
    MpiShared& s = *group_->shared;
    std::vector<int> peers;
    for (int r : group_->world_ranks)
      if (r != s.world_rank) peers.push_back(r);

    const std::int32_t me = s.world_rank;
    std::vector<StatusReply> replies(peers.size());
    std::vector<MPI_Request> queries(peers.size(), MPI_REQUEST_NULL);
    std::vector<MPI_Request> answers(peers.size(), MPI_REQUEST_NULL);
    std::vector<bool> answered(peers.size(), false);
    for (std::size_t i = 0; i < peers.size(); ++i) {
      // Errors here only mean "no answer": the job ends either way.
      MPI_Irecv(&replies[i], static_cast<int>(sizeof(StatusReply)), MPI_BYTE, peers[i], kReplyTag,
                s.status_comm, &answers[i]);
      MPI_Isend(&me, 1, MPI_INT32_T, peers[i], kQueryTag, s.status_comm, &queries[i]);
    }
    const auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < kReplyWindowSeconds) {
      bool all = true;
      for (std::size_t i = 0; i < peers.size(); ++i) {
        if (answered[i]) continue;
        int flag = 0;
        if (MPI_Test(&answers[i], &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS && flag) {
          answered[i] = true;
        } else {
          all = false;
        }
      }
      if (all) break;
      try {
        s.service_queries();  // a peer that timed out too is asking us at the same time
      } catch (...) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }

    std::vector<int> silent;
    std::map<std::string, std::vector<int>> by_state;  // "all_reduce #5 on 'tensor'" -> ranks
    for (std::size_t i = 0; i < peers.size(); ++i) {
      if (!answered[i]) {
        silent.push_back(peers[i]);
      } else if (replies[i].waiting) {
        by_state[str(read_field(replies[i].op), " #", replies[i].seq, " on '", read_field(replies[i].group),
                     "'")]
            .push_back(peers[i]);
      } else {
        by_state["nothing (idle)"].push_back(peers[i]);
      }
    }
    std::string line =
        str("mtnlg: rank ", s.world_rank, ": ", what_, " timed out after ", seconds_str(timeout), " s");
    if (peers.empty()) line += "; no other rank is in the group";
    if (!silent.empty()) {
      line += str("; ", silent.size() == 1 ? "rank " : "ranks ", join(silent),
                  " did not respond (stalled, or busy outside the communicator)");
    }
    for (const auto& [state, ranks] : by_state) {
      line += str("; ", ranks.size() == 1 ? "rank " : "ranks ", join(ranks),
                  ranks.size() == 1 ? " is waiting in " : " are waiting in ", state);
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    s.abort_job(1);
  }

  std::shared_ptr<GroupState> group_;
  std::string op_;
  std::int64_t seq_;
  std::string what_;  // "all_reduce #5 on group 'tensor' (world ranks 0,1,2)"
  MPI_Request request_;
  std::vector<Tensor> keep_alive_;  // the buffers may not go away while MPI uses them
  Backend* stream_;
  std::vector<Staged> write_back_;
  std::int64_t expected_recv_count_;
  MPI_Datatype recv_type_;
  bool done_;
};

class MpiProcessGroup final : public ProcessGroup {
 public:
  explicit MpiProcessGroup(std::shared_ptr<GroupState> g) : g_(std::move(g)) {}

  const std::string& name() const override { return g_->name; }
  int rank() const override { return g_->rank; }
  int size() const override { return g_->size; }
  int world_rank(int group_rank) const override {
    MTNLG_CHECK(group_rank >= 0 && group_rank < g_->size,
                str("group rank ", group_rank, " is out of range for ", g_->label()));
    return g_->world_ranks[static_cast<std::size_t>(group_rank)];
  }

 protected:
  WorkHandle do_all_reduce(Backend& stream, const Tensor& t, ReduceOp op) override {
    const char* kOp = "all_reduce";
    begin(stream, kOp);
    check_tensor(stream, kOp, "the", t);
    const MPI_Datatype type = mpi_type(kOp, t.dtype(), true);
    const std::int64_t seq = ++g_->collective_seq;
    const auto p = static_cast<std::int64_t>(g_->size);
    g_->count(kOp, 2 * (p - 1) * static_cast<std::int64_t>(t.nbytes()) / p);
    const std::string what = collective(kOp, seq);
    if (g_->size == 1)
      return std::make_unique<MpiWork>(g_, kOp, seq, what, MPI_REQUEST_NULL, std::vector<Tensor>{});
    std::vector<Staged> write_back;
    const Tensor h = host_view(stream, t, true, true, write_back);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, h.data(), count(h), type, mpi_reduce_op(t.dtype(), op), g_->comm,
                         &request),
          "MPI_Iallreduce", what);
    return std::make_unique<MpiWork>(g_, kOp, seq, what, request, std::vector<Tensor>{t, h}, &stream,
                                     std::move(write_back));
  }

  WorkHandle do_all_gather(Backend& stream, const Tensor& in, const Tensor& out) override {
    const char* kOp = "all_gather";
    begin(stream, kOp);
    check_tensor(stream, kOp, "the input", in);
    check_tensor(stream, kOp, "the output", out);
    check_same_dtype(kOp, in, out);
    MTNLG_CHECK(out.numel() == in.numel() * g_->size,
                str(kOp, " on ", g_->label(), ": the output must hold size * input elements (", g_->size,
                    " * ", in.numel(), "), got input ", in.describe(), " and output ", out.describe()));
    const MPI_Datatype type = mpi_type(kOp, in.dtype(), false);
    const bool in_place = in.storage() == out.storage() &&
                          in.offset() == out.offset() + static_cast<std::int64_t>(g_->rank) * in.numel();
    if (!in_place)
      check_disjoint(kOp, in, out, "in place, the input must be exactly this rank's slice of the output");
    const std::int64_t seq = ++g_->collective_seq;
    const auto p = static_cast<std::int64_t>(g_->size);
    g_->count(kOp, (p - 1) * static_cast<std::int64_t>(out.nbytes()) / p);
    const std::string what = collective(kOp, seq);
    // In place, this rank's slice travels inside the output: staged, the output is read as well as written.
    std::vector<Staged> write_back;
    const Tensor h_in = in_place ? Tensor() : host_view(stream, in, true, false, write_back);
    const Tensor h_out = host_view(stream, out, in_place, true, write_back);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallgather(in_place ? MPI_IN_PLACE : h_in.data(), count(in), type, h_out.data(), count(in),
                         type, g_->comm, &request),
          "MPI_Iallgather", what);
    return std::make_unique<MpiWork>(g_, kOp, seq, what, request, std::vector<Tensor>{in, out, h_in, h_out},
                                     &stream, std::move(write_back));
  }

  WorkHandle do_reduce_scatter(Backend& stream, const Tensor& in, const Tensor& out) override {
    const char* kOp = "reduce_scatter";
    begin(stream, kOp);
    check_tensor(stream, kOp, "the input", in);
    check_tensor(stream, kOp, "the output", out);
    check_same_dtype(kOp, in, out);
    MTNLG_CHECK(in.numel() == out.numel() * g_->size,
                str(kOp, " on ", g_->label(), ": the input must hold size * output elements (", g_->size,
                    " * ", out.numel(), "), got input ", in.describe(), " and output ", out.describe()));
    const MPI_Datatype type = mpi_type(kOp, in.dtype(), true);
    check_disjoint(kOp, in, out, "input and output must not overlap");
    const std::int64_t seq = ++g_->collective_seq;
    const auto p = static_cast<std::int64_t>(g_->size);
    g_->count(kOp, (p - 1) * static_cast<std::int64_t>(in.nbytes()) / p);
    const std::string what = collective(kOp, seq);
    std::vector<Staged> write_back;
    const Tensor h_in = host_view(stream, in, true, false, write_back);
    const Tensor h_out = host_view(stream, out, false, true, write_back);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ireduce_scatter_block(h_in.data(), h_out.data(), count(out), type,
                                    mpi_reduce_op(in.dtype(), ReduceOp::sum), g_->comm, &request),
          "MPI_Ireduce_scatter_block", what);
    return std::make_unique<MpiWork>(g_, kOp, seq, what, request, std::vector<Tensor>{in, out, h_in, h_out},
                                     &stream, std::move(write_back));
  }

  WorkHandle do_broadcast(Backend& stream, const Tensor& t, int root) override {
    const char* kOp = "broadcast";
    begin(stream, kOp);
    check_tensor(stream, kOp, "the", t);
    MTNLG_CHECK(root >= 0 && root < g_->size, str(kOp, " on ", g_->label(), ": root ", root,
                                                  " is not a group rank (0..", g_->size - 1, ")"));
    const MPI_Datatype type = mpi_type(kOp, t.dtype(), false);
    const std::int64_t seq = ++g_->collective_seq;
    const auto p = static_cast<std::int64_t>(g_->size);
    g_->count(kOp, (p - 1) * static_cast<std::int64_t>(t.nbytes()) / p);
    const std::string what = collective(kOp, seq) + str(" from root ", root);
    const bool is_root = g_->rank == root;
    std::vector<Staged> write_back;
    const Tensor h = host_view(stream, t, is_root, !is_root, write_back);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Ibcast(h.data(), count(h), type, root, g_->comm, &request), "MPI_Ibcast", what);
    return std::make_unique<MpiWork>(g_, kOp, seq, what, request, std::vector<Tensor>{t, h}, &stream,
                                     std::move(write_back));
  }

  WorkHandle do_send(Backend& stream, const Tensor& t, int peer, int tag) override {
    const char* kOp = "send";
    begin(stream, kOp);
    check_tensor(stream, kOp, "the", t);
    check_peer(kOp, peer, tag);
    const MPI_Datatype type = mpi_type(kOp, t.dtype(), false);
    const std::int64_t seq = ++g_->p2p_seq;
    g_->count(kOp, static_cast<std::int64_t>(t.nbytes()));
    const std::string what = point_to_point(kOp, seq, "to", peer, tag);
    std::vector<Staged> write_back;
    const Tensor h = host_view(stream, t, true, false, write_back);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Isend(h.data(), count(h), type, peer, tag, g_->comm, &request), "MPI_Isend", what);
    return std::make_unique<MpiWork>(g_, kOp, seq, what, request, std::vector<Tensor>{t, h});
  }

  WorkHandle do_recv(Backend& stream, const Tensor& t, int peer, int tag) override {
    const char* kOp = "recv";
    begin(stream, kOp);
    check_tensor(stream, kOp, "the", t);
    check_peer(kOp, peer, tag);
    const MPI_Datatype type = mpi_type(kOp, t.dtype(), false);
    const std::int64_t seq = ++g_->p2p_seq;
    g_->count(kOp, 0);
    const std::string what = point_to_point(kOp, seq, "from", peer, tag);
    std::vector<Staged> write_back;
    const Tensor h = host_view(stream, t, false, true, write_back);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Irecv(h.data(), count(h), type, peer, tag, g_->comm, &request), "MPI_Irecv", what);
    return std::make_unique<MpiWork>(g_, kOp, seq, what, request, std::vector<Tensor>{t, h}, &stream,
                                     std::move(write_back), t.numel(), type);
  }

  CommTraffic do_traffic() const override { return g_->traffic; }

 private:
  // Every operation: right thread, then the producing stream's queued work is done before MPI reads.
  void begin(Backend& stream, const char* op) {
    g_->shared->check_thread(str(op, " on ", g_->label()));
    stream.synchronize();
  }

  void check(int rc, const char* call, const std::string& what) const {
    g_->shared->check(rc, str(call, " for ", what));
  }

  // The buffer MPI works on: a host tensor itself (zero copy), or a host copy of a device tensor (held by
  // `stream`: check_tensor) — downloaded now when the operation reads the tensor, and added to `write_back`
  // when the operation writes it.
  static Tensor host_view(Backend& stream, const Tensor& t, bool read, bool write,
                          std::vector<Staged>& write_back) {
    if (t.device().kind == DeviceKind::cpu) return t;
    Tensor host = host_tensor(t.shape(), t.dtype());
    if (read) {
      stream.download(host.data(), t);
      stream.synchronize();
    }
    if (write) write_back.push_back({t, host});
    return host;
  }

  std::string collective(const char* op, std::int64_t seq) const {
    return str(op, " #", seq, " on ", g_->label());
  }

  std::string point_to_point(const char* op, std::int64_t seq, const char* direction, int peer,
                             int tag) const {
    return str(op, " #", seq, " ", direction, " group rank ", peer, " (world rank ",
               g_->world_ranks[static_cast<std::size_t>(peer)], ", tag ", tag, ") on ", g_->label());
  }

  void check_tensor(Backend& stream, const char* op, const char* role, const Tensor& t) const {
    MTNLG_CHECK(t.defined(), str(op, " on ", g_->label(), ": ", role, " tensor is undefined"));
    MTNLG_CHECK(
        t.device().kind != DeviceKind::meta,
        str(op, " on ", g_->label(), ": ", role, " tensor ", t.describe(),
            " has no data; comm/mpi moves host memory, and device memory staged through host memory"));
    MTNLG_CHECK(t.device().kind == DeviceKind::cpu || t.device() == stream.device(),
                str(op, " on ", g_->label(), ": ", role, " tensor ", t.describe(),
                    " is not on the device of the backend passed (", device_str(stream.device()),
                    "); comm/mpi stages device tensors through the backend that holds them"));
    MTNLG_CHECK(t.is_contiguous(),
                str(op, " on ", g_->label(), ": ", role, " tensor must be contiguous, got ", t.describe(),
                    " with strides ", shape_str(t.strides())));
    MTNLG_CHECK(t.numel() <= INT_MAX, str(op, " on ", g_->label(), ": ", role, " tensor has more than ",
                                          INT_MAX, " elements (MPI counts are int), got ", t.describe()));
  }

  void check_same_dtype(const char* op, const Tensor& in, const Tensor& out) const {
    MTNLG_CHECK(in.dtype() == out.dtype(), str(op, " on ", g_->label(), ": input ", in.describe(),
                                               " and output ", out.describe(), " differ in dtype"));
  }

  void check_disjoint(const char* op, const Tensor& in, const Tensor& out, const char* rule) const {
    if (in.storage() != out.storage()) return;
    const auto size = static_cast<std::int64_t>(dtype_size(in.dtype()));
    const std::int64_t in_begin = in.offset() * size,
                       in_end = in_begin + static_cast<std::int64_t>(in.nbytes());
    const std::int64_t out_begin = out.offset() * size,
                       out_end = out_begin + static_cast<std::int64_t>(out.nbytes());
    MTNLG_CHECK(in_end <= out_begin || out_end <= in_begin,
                str(op, " on ", g_->label(), ": input ", in.describe(), " at offset ", in.offset(),
                    " overlaps output ", out.describe(), " at offset ", out.offset(), " (", rule, ")"));
  }

  void check_peer(const char* op, int peer, int tag) const {
    MTNLG_CHECK(peer >= 0 && peer < g_->size, str(op, " on ", g_->label(), ": peer ", peer,
                                                  " is not a group rank (0..", g_->size - 1, ")"));
    MTNLG_CHECK(tag >= 0 && tag <= g_->shared->tag_ub,
                str(op, " on ", g_->label(), ": tag ", tag, " is outside 0..", g_->shared->tag_ub));
  }

  // The MPI type for a dtype. 16-bit floats move as their bits; their reductions are ours
  // (half_reductions.hpp).
  MPI_Datatype mpi_type(const char* op, DType dtype, bool /*reduction*/) const {
    switch (dtype) {
      case DType::f32:
        return MPI_FLOAT;
      case DType::f64:
        return MPI_DOUBLE;
      case DType::i32:
        return MPI_INT32_T;
      case DType::i64:
        return MPI_INT64_T;
      case DType::u16:
        return MPI_UINT16_T;
      case DType::bf16:
      case DType::f16:
        return MPI_UINT16_T;
    }
    fail(str(op, " on ", g_->label(), ": comm/mpi has no MPI type for ", dtype_name(dtype)));
  }

  static int count(const Tensor& t) { return static_cast<int>(t.numel()); }

  std::shared_ptr<GroupState> g_;
};

}  // namespace
}  // namespace detail

MpiCommunicator::MpiCommunicator(const CreateArgs& /*args*/)
    : shared_(std::make_shared<detail::MpiShared>()) {
  auto& s = *shared_;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  MTNLG_CHECK(!finalized, "comm/mpi: MPI was already finalised in this process");
  if (!initialized) {
    int provided = 0;
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) fail(str("comm/mpi: MPI_Init_thread failed: ", detail::mpi_error_string(rc)));
    s.owns_mpi = true;
  }
  s.check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler (world)");
  s.check(MPI_Comm_rank(MPI_COMM_WORLD, &s.world_rank), "MPI_Comm_rank (world)");
  s.check(MPI_Comm_size(MPI_COMM_WORLD, &s.world_size), "MPI_Comm_size (world)");
  s.check(MPI_Comm_dup(MPI_COMM_WORLD, &s.status_comm), "MPI_Comm_dup (status channel)");
  s.check(MPI_Comm_set_errhandler(s.status_comm, MPI_ERRORS_RETURN),
          "MPI_Comm_set_errhandler (status channel)");
  void* tag_ub = nullptr;
  int found = 0;
  s.check(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &found), "MPI_Comm_get_attr (MPI_TAG_UB)");
  if (found && tag_ub != nullptr) s.tag_ub = *static_cast<int*>(tag_ub);
}

MpiCommunicator::~MpiCommunicator() = default;

double MpiCommunicator::timeout() const {
  return shared_->timeout_seconds;
}

int MpiCommunicator::do_rank() const {
  return shared_->world_rank;
}

int MpiCommunicator::do_size() const {
  return shared_->world_size;
}

std::unique_ptr<ProcessGroup> MpiCommunicator::do_split(const std::string& name, int color, int key) {
  auto& s = *shared_;
  s.check_thread(str("split of group '", name, "'"));
  MTNLG_CHECK(color >= 0,
              str("split of group '", name, "' on rank ", s.world_rank, ": color must be >= 0, got ", color,
                  " (every rank must call split, with a non-negative color)"));
  auto g = std::make_shared<detail::GroupState>();
  g->shared = shared_;
  g->name = name;
  const std::string what = str("MPI_Comm_split for group '", name, "'");
  s.check(MPI_Comm_split(MPI_COMM_WORLD, color, key, &g->comm), what);
  s.check(MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN), what + " (set error handler)");
  s.check(MPI_Comm_rank(g->comm, &g->rank), what + " (rank)");
  s.check(MPI_Comm_size(g->comm, &g->size), what + " (size)");
  MPI_Group group = MPI_GROUP_NULL, world = MPI_GROUP_NULL;
  s.check(MPI_Comm_group(g->comm, &group), what + " (group)");
  s.check(MPI_Comm_group(MPI_COMM_WORLD, &world), what + " (world group)");
  std::vector<int> ranks(static_cast<std::size_t>(g->size));
  std::iota(ranks.begin(), ranks.end(), 0);
  g->world_ranks.resize(ranks.size());
  const int rc = MPI_Group_translate_ranks(group, g->size, ranks.data(), world, g->world_ranks.data());
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  s.check(rc, what + " (MPI_Group_translate_ranks)");
  return std::make_unique<detail::MpiProcessGroup>(std::move(g));
}

void MpiCommunicator::do_set_timeout(double seconds) {
  shared_->timeout_seconds = seconds;
}

void MpiCommunicator::do_abort(int exit_code) {
  shared_->abort_job(exit_code);
}

}  // namespace mtnlg::comm
