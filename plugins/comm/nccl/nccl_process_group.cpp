#include "nccl_process_group.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <utility>

#include "cuda_handles.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"
#include "nccl_status.hpp"

namespace mtnlg::comm::nccl {

namespace {

std::string join(const std::vector<int>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  return out;
}

struct GroupState {
  std::shared_ptr<Shared> shared;
  std::string name;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  // Reused by every operation: cudaStreamWaitEvent captures the event's state when it is called.
  std::unique_ptr<Event> ready;
  int rank = 0;
  int size = 1;
  std::vector<int> world_ranks;  // by group rank
  std::int64_t collective_seq = 0;
  std::int64_t p2p_seq = 0;
  CommTraffic traffic;

  GroupState() = default;
  GroupState(const GroupState&) = delete;
  GroupState& operator=(const GroupState&) = delete;

  // Teardown never throws: the last user of a group may be a destructor. The stream drains first, so no
  // operation of the communicator is left when NCCL frees it.
  ~GroupState() {
    int previous = shared->device;
    cudaGetDevice(&previous);
    cudaSetDevice(shared->device);
    if (stream != nullptr) cudaStreamSynchronize(stream);
    shared->watchdog.forget(comm);
    ready.reset();
    if (comm != nullptr) ncclCommDestroy(comm);
    if (stream != nullptr) cudaStreamDestroy(stream);
    cudaSetDevice(previous);
  }

  std::string label() const { return str("group '", name, "' (world ranks ", join(world_ranks), ")"); }
  // The context of an error in an operation: "for all_reduce #3 on group 'data' (...) on rank 1, cuda:1".
  std::string context(const std::string& what) const { return str("for ", what, shared->where()); }

  void count(const std::string& op, std::int64_t bytes) {
    traffic.bytes[op] += bytes;
    traffic.operations[op] += 1;
  }

  // An error NCCL found after an operation was queued (a peer gone, a network failure) surfaces at the next
  // call on the group.
  void check_async(const std::string& what) const {
    ncclResult_t async = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(comm, &async), "ncclCommGetAsyncError", comm, context(what));
    if (async != ncclSuccess && async != ncclInProgress)
      fail(str(what, shared->where(),
               ": NCCL reports an asynchronous error on the group: ", nccl_error_text(async, comm)));
  }
};

class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<GroupState> group, std::shared_ptr<const Event> done, cudaStream_t consumer,
           std::string what, std::vector<Tensor> keep_alive)
      : group_(std::move(group)),
        done_(std::move(done)),
        consumer_(consumer),
        what_(std::move(what)),
        keep_alive_(std::move(keep_alive)) {}

  // Never throws: an operation that cannot even be ordered is a broken job, ended on every rank.
  ~NcclWork() override {
    if (waited_) return;
    try {
      do_wait();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mtnlg: rank %d: %s, destroyed without wait(), failed while completing: %s\n",
                   group_->shared->bootstrap.rank(), what_.c_str(), e.what());
      group_->shared->bootstrap.abort(1);
    } catch (...) {
      std::fprintf(stderr, "mtnlg: rank %d: %s, destroyed without wait(), failed while completing\n",
                   group_->shared->bootstrap.rank(), what_.c_str());
      group_->shared->bootstrap.abort(1);
    }
  }

 protected:
  void do_wait() override {
    if (waited_) return;
    try {
      group_->check_async(what_);
      const std::string context = group_->context(what_);
      DeviceGuard guard(group_->shared->device, context);
      check_cuda(cudaStreamWaitEvent(consumer_, done_->get(), 0),
                 "cudaStreamWaitEvent (the backend's stream after the operation)", context);
    } catch (...) {
      waited_ = true;  // reported once; the group is unusable after an error
      throw;
    }
    waited_ = true;
    // The backend's stream now runs after the operation, so memory freed from here on is reused only by work
    // ordered after it.
    keep_alive_.clear();
  }

  bool do_test() override {
    const cudaError_t status = cudaEventQuery(done_->get());
    if (status == cudaSuccess) return true;
    if (status != cudaErrorNotReady) fail_cuda("cudaEventQuery", status, group_->context(what_));
    group_->check_async(what_);
    return false;
  }

 private:
  std::shared_ptr<GroupState> group_;
  std::shared_ptr<const Event> done_;
  cudaStream_t consumer_;  // the backend's stream
  std::string what_;       // "all_reduce #5 on group 'tensor' (world ranks 0,1,2)"
  std::vector<Tensor> keep_alive_;
  bool waited_ = false;
};

class NcclProcessGroup final : public ProcessGroup {
 public:
  explicit NcclProcessGroup(std::shared_ptr<GroupState> g) : g_(std::move(g)) {}

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
    check_tensor(kOp, "the", t);
    const ncclDataType_t type = reduction_type(kOp, t.dtype());
    const cudaStream_t backend = backend_stream(kOp, stream);
    const std::string what = collective(kOp);
    g_->count(kOp, 2 * (g_->size - 1) * static_cast<std::int64_t>(t.nbytes()) / g_->size);
    return post(backend, what, "ncclAllReduce", {t}, [&](cudaStream_t s) {
      return ncclAllReduce(t.data(), t.data(), static_cast<std::size_t>(t.numel()), type,
                           op == ReduceOp::sum ? ncclSum : ncclMax, g_->comm, s);
    });
  }

  WorkHandle do_all_gather(Backend& stream, const Tensor& in, const Tensor& out) override {
    const char* kOp = "all_gather";
    check_tensor(kOp, "the input", in);
    check_tensor(kOp, "the output", out);
    check_same_dtype(kOp, in, out);
    MTNLG_CHECK(out.numel() == in.numel() * g_->size,
                str(kOp, " on ", g_->label(), ": the output must hold size * input elements (", g_->size,
                    " * ", in.numel(), "), got input ", in.describe(), " and output ", out.describe()));
    // In place is NCCL's own rule too: the input at the output's slice for this rank.
    const bool in_place = in.storage() == out.storage() &&
                          in.offset() == out.offset() + static_cast<std::int64_t>(g_->rank) * in.numel();
    if (!in_place)
      check_disjoint(kOp, in, out, "in place, the input must be exactly this rank's slice of the output");
    const cudaStream_t backend = backend_stream(kOp, stream);
    const std::string what = collective(kOp);
    g_->count(kOp, (g_->size - 1) * static_cast<std::int64_t>(out.nbytes()) / g_->size);
    return post(backend, what, "ncclAllGather", {in, out}, [&](cudaStream_t s) {
      return ncclAllGather(in.data(), out.data(), in.nbytes(), ncclUint8, g_->comm, s);
    });
  }

  WorkHandle do_reduce_scatter(Backend& stream, const Tensor& in, const Tensor& out) override {
    const char* kOp = "reduce_scatter";
    check_tensor(kOp, "the input", in);
    check_tensor(kOp, "the output", out);
    check_same_dtype(kOp, in, out);
    MTNLG_CHECK(in.numel() == out.numel() * g_->size,
                str(kOp, " on ", g_->label(), ": the input must hold size * output elements (", g_->size,
                    " * ", out.numel(), "), got input ", in.describe(), " and output ", out.describe()));
    const ncclDataType_t type = reduction_type(kOp, in.dtype());
    check_disjoint(kOp, in, out, "input and output must not overlap");
    const cudaStream_t backend = backend_stream(kOp, stream);
    const std::string what = collective(kOp);
    g_->count(kOp, (g_->size - 1) * static_cast<std::int64_t>(in.nbytes()) / g_->size);
    return post(backend, what, "ncclReduceScatter", {in, out}, [&](cudaStream_t s) {
      return ncclReduceScatter(in.data(), out.data(), static_cast<std::size_t>(out.numel()), type, ncclSum,
                               g_->comm, s);
    });
  }

  WorkHandle do_broadcast(Backend& stream, const Tensor& t, int root) override {
    const char* kOp = "broadcast";
    check_tensor(kOp, "the", t);
    MTNLG_CHECK(root >= 0 && root < g_->size, str(kOp, " on ", g_->label(), ": root ", root,
                                                  " is not a group rank (0..", g_->size - 1, ")"));
    const cudaStream_t backend = backend_stream(kOp, stream);
    const std::string what = collective(kOp) + str(" from root ", root);
    g_->count(kOp, (g_->size - 1) * static_cast<std::int64_t>(t.nbytes()) / g_->size);
    return post(backend, what, "ncclBroadcast", {t}, [&](cudaStream_t s) {
      return ncclBroadcast(t.data(), t.data(), t.nbytes(), ncclUint8, root, g_->comm, s);
    });
  }

  WorkHandle do_send(Backend& stream, const Tensor& t, int peer, int tag) override {
    const char* kOp = "send";
    check_tensor(kOp, "the", t);
    check_peer(kOp, peer);
    const cudaStream_t backend = backend_stream(kOp, stream);
    const std::string what = point_to_point(kOp, "to", peer, tag);
    g_->count(kOp, static_cast<std::int64_t>(t.nbytes()));
    return post(backend, what, "ncclSend", {t},
                [&](cudaStream_t s) { return ncclSend(t.data(), t.nbytes(), ncclUint8, peer, g_->comm, s); });
  }

  WorkHandle do_recv(Backend& stream, const Tensor& t, int peer, int tag) override {
    const char* kOp = "recv";
    check_tensor(kOp, "the", t);
    check_peer(kOp, peer);
    const cudaStream_t backend = backend_stream(kOp, stream);
    const std::string what = point_to_point(kOp, "from", peer, tag);
    g_->count(kOp, 0);
    return post(backend, what, "ncclRecv", {t},
                [&](cudaStream_t s) { return ncclRecv(t.data(), t.nbytes(), ncclUint8, peer, g_->comm, s); });
  }

  CommTraffic do_traffic() const override { return g_->traffic; }

 private:
  // The names below take the operation's sequence number: call them only once every check has passed (a
  // rejected call takes no number).
  std::string collective(const char* op) const {
    return str(op, " #", ++g_->collective_seq, " on ", g_->label());
  }

  std::string point_to_point(const char* op, const char* direction, int peer, int tag) const {
    return str(op, " #", ++g_->p2p_seq, " ", direction, " group rank ", peer, " (world rank ",
               g_->world_ranks[static_cast<std::size_t>(peer)], ", tag ", tag, ") on ", g_->label());
  }

  // Orders the group's stream after the backend's, queues `call` on it and the completion event after it,
  // and hands the operation to the watchdog.
  template <class Call>
  WorkHandle post(cudaStream_t backend, const std::string& what, const char* call_name,
                  std::vector<Tensor> keep_alive, const Call& call) {
    const std::string context = g_->context(what);
    DeviceGuard guard(g_->shared->device, context);
    check_cuda(cudaEventRecord(g_->ready->get(), backend), "cudaEventRecord (the backend's stream)", context);
    check_cuda(cudaStreamWaitEvent(g_->stream, g_->ready->get(), 0),
               "cudaStreamWaitEvent (the group's stream after the backend's)", context);
    check_nccl(call(g_->stream), call_name, g_->comm, context);
    auto done = std::make_shared<const Event>(context);
    check_cuda(cudaEventRecord(done->get(), g_->stream), "cudaEventRecord (the group's stream)", context);
    g_->shared->watchdog.track(g_->comm, done, what);
    return std::make_unique<NcclWork>(g_, std::move(done), backend, what, std::move(keep_alive));
  }

  // The backend's CUDA stream. A plugin sees backends only through the SDK: the CUDA backend runs submitted
  // work at once and hands it its stream.
  cudaStream_t backend_stream(const char* op, Backend& backend) const {
    g_->check_async(str(op, " on ", g_->label()));
    const Device device = backend.device();
    MTNLG_CHECK(device.kind == DeviceKind::cuda && device.index == g_->shared->device,
                str(op, " on ", g_->label(), ": the backend passed is on ", device_str(device),
                    "; comm/nccl orders its operations after the stream of the cuda backend on cuda:",
                    g_->shared->device));
    // Shared, not a reference to a local: a backend that deferred the work would run it after we return.
    auto native = std::make_shared<void*>(nullptr);
    backend.submit([native](ExecContext& ctx) { *native = ctx.native_stream; });
    MTNLG_CHECK(*native != nullptr,
                str(op, " on ", g_->label(), ": the backend on ", device_str(device),
                    " gave no CUDA stream to work submitted to it; comm/nccl needs the cuda backend"));
    return static_cast<cudaStream_t>(*native);
  }

  void check_tensor(const char* op, const char* role, const Tensor& t) const {
    const std::string where = str(op, " on ", g_->label(), ": ", role, " tensor");
    MTNLG_CHECK(t.defined(), where + " is undefined");
    MTNLG_CHECK(
        t.device().kind == DeviceKind::cuda,
        str(where, " must be in CUDA device memory, got ", t.describe(),
            " (comm/nccl moves device tensors only; parallel.communicator = \"mpi\" moves host ones)"));
    MTNLG_CHECK(t.device().index == g_->shared->device,
                str(where, " is on ", device_str(t.device()),
                    " but this communicator runs on cuda:", g_->shared->device,
                    " (it picks its GPU as the cuda backend does: backend.device, else the "
                    "node-local rank)"));
    MTNLG_CHECK(t.is_contiguous(), str(where, " must be contiguous, got ", t.describe(), " with strides ",
                                       shape_str(t.strides())));
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

  // Tags cannot be expressed in NCCL: a send matches the receive its peer posts in the same position of their
  // sequences of operations on the group (README.md).
  void check_peer(const char* op, int peer) const {
    MTNLG_CHECK(peer >= 0 && peer < g_->size, str(op, " on ", g_->label(), ": peer ", peer,
                                                  " is not a group rank (0..", g_->size - 1, ")"));
    MTNLG_CHECK(
        peer != g_->rank,
        str(op, " on ", g_->label(), ": peer ", peer,
            " is this rank; comm/nccl cannot send to or receive from itself (NCCL pairs a send to self "
            "only with a receive posted in the same group call, and each operation here is posted "
            "alone); copy the tensor instead"));
  }

  ncclDataType_t reduction_type(const char* op, DType dtype) const {
    switch (dtype) {
      case DType::f32:
        return ncclFloat32;
      case DType::f64:
        return ncclFloat64;
      case DType::bf16:
        return ncclBfloat16;
      case DType::f16:
        return ncclFloat16;
      case DType::i32:
        return ncclInt32;
      case DType::i64:
        return ncclInt64;
      case DType::u16:
        break;
    }
    fail(str(op, " on ", g_->label(), ": comm/nccl cannot reduce ", dtype_name(dtype),
             " tensors (NCCL has no ", dtype_name(dtype),
             " arithmetic); reductions support f32, f64, bf16, f16, i32 and i64"));
  }

  std::shared_ptr<GroupState> g_;
};

}  // namespace

std::unique_ptr<ProcessGroup> make_process_group(std::shared_ptr<Shared> shared, std::string name,
                                                 ncclComm_t comm, std::vector<int> world_ranks) {
  auto g = std::make_shared<GroupState>();
  g->shared = std::move(shared);
  g->name = std::move(name);
  g->comm = comm;
  g->world_ranks = std::move(world_ranks);
  g->size = static_cast<int>(g->world_ranks.size());
  const int me = g->shared->bootstrap.rank();
  const auto mine = std::find(g->world_ranks.begin(), g->world_ranks.end(), me);
  MTNLG_CHECK(mine != g->world_ranks.end(),
              str("comm/nccl: world rank ", me, " is not a member of ", g->label(), " that it split off"));
  g->rank = static_cast<int>(mine - g->world_ranks.begin());

  const std::string context = str("for ", g->label(), g->shared->where());
  int nccl_rank = -1, nccl_size = 0;
  check_nccl(ncclCommUserRank(comm, &nccl_rank), "ncclCommUserRank", comm, context);
  check_nccl(ncclCommCount(comm, &nccl_size), "ncclCommCount", comm, context);
  MTNLG_CHECK(nccl_rank == g->rank && nccl_size == g->size,
              str("comm/nccl: NCCL made ", g->label(), " with this rank as ", nccl_rank, " of ", nccl_size,
                  ", but the order of (key, world rank) gives ", g->rank, " of ", g->size));
  DeviceGuard guard(g->shared->device, context);
  check_cuda(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags",
             context);
  g->ready = std::make_unique<Event>(context);
  return std::make_unique<NcclProcessGroup>(std::move(g));
}

}  // namespace mtnlg::comm::nccl
