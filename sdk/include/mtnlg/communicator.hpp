#pragma once
// A communicator moves tensors between ranks: collectives on a process group (all-reduce, all-gather,
// reduce-scatter, broadcast) and point-to-point send/recv between a group's members. Every call is
// non-blocking: it posts the operation and returns a Work handle; wait() completes it. Every call site is the
// same code whichever communicator runs it (comm/mpi on host tensors, comm/nccl on device tensors).
//
// Ordering with compute: each call takes the backend whose stream produced (or will read) the tensors. A
// host-memory communicator synchronises that backend before it touches the data; a device communicator
// orders itself on the stream instead.
//
// Hangs: a wait() that does not complete within the communicator's timeout fails with an Error naming the
// operation, the group, the operation's sequence number on that group, and the ranks that did not arrive —
// the hung collective is the commonest way large jobs die silently.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mtnlg/component.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg {

class Backend;

enum class ReduceOp : std::uint8_t { sum, max };

// A posted operation. Destroying a Work that was never waited for waits for it (an operation may not outlive
// its buffers).
class MTNLG_SDK_API Work {
 public:
  virtual ~Work();
  void wait();  // completes the operation or fails (timeout, peer error) with mtnlg::Error
  bool test();  // true once complete; never blocks

 protected:
  virtual void do_wait() = 0;
  virtual bool do_test() = 0;
};
using WorkHandle = std::unique_ptr<Work>;

// Traffic a group has carried, for benchmarks and the planner: payload bytes this rank handed to the
// network per operation kind ("all_reduce", "send", ...), counted as a ring algorithm moves them —
// all-reduce 2(p−1)/p·n, all-gather and reduce-scatter (p−1)/p·n of the full buffer, send n.
struct CommTraffic {
  std::map<std::string, std::int64_t> bytes;
  std::map<std::string, std::int64_t> operations;
};

class MTNLG_SDK_API ProcessGroup {
 public:
  virtual ~ProcessGroup();
  virtual const std::string& name() const = 0;  // "tensor", "data", "pipeline", "embedding", ...
  virtual int rank() const = 0;                 // this process's rank within the group
  virtual int size() const = 0;
  virtual int world_rank(int group_rank) const = 0;

  // t ← reduce(t over the group), in place. t contiguous.
  WorkHandle all_reduce(Backend& stream, const Tensor& t, ReduceOp op);
  // out ← concatenation of every rank's `in` in group-rank order; out.numel() = size · in.numel(). `in` may
  // be the slice of `out` this rank owns (in place).
  WorkHandle all_gather(Backend& stream, const Tensor& in, const Tensor& out);
  // out ← this rank's 1/size part of the element-wise sum of every rank's `in`; in.numel() = size ·
  // out.numel().
  WorkHandle reduce_scatter(Backend& stream, const Tensor& in, const Tensor& out);
  // t ← root's t.
  WorkHandle broadcast(Backend& stream, const Tensor& t, int root);
  // Point-to-point with a group member; a send matches the receive with the same tag from this rank.
  WorkHandle send(Backend& stream, const Tensor& t, int peer, int tag);
  WorkHandle recv(Backend& stream, const Tensor& t, int peer, int tag);

  CommTraffic traffic() const;

 protected:
  virtual WorkHandle do_all_reduce(Backend& stream, const Tensor& t, ReduceOp op) = 0;
  virtual WorkHandle do_all_gather(Backend& stream, const Tensor& in, const Tensor& out) = 0;
  virtual WorkHandle do_reduce_scatter(Backend& stream, const Tensor& in, const Tensor& out) = 0;
  virtual WorkHandle do_broadcast(Backend& stream, const Tensor& t, int root) = 0;
  virtual WorkHandle do_send(Backend& stream, const Tensor& t, int peer, int tag) = 0;
  virtual WorkHandle do_recv(Backend& stream, const Tensor& t, int peer, int tag) = 0;
  virtual CommTraffic do_traffic() const = 0;
};

class MTNLG_SDK_API Communicator : public Component {
 public:
  static constexpr const char* kKind = "communicator";
  ~Communicator() override;

  int rank() const;  // in the world
  int size() const;
  // Collective over the whole world, like MPI_Comm_split: ranks passing the same color form a group, ordered
  // by key. Every rank must call split the same number of times in the same order.
  std::unique_ptr<ProcessGroup> split(const std::string& name, int color, int key);
  // The longest a wait() may take before it fails; 0 = forever.
  void set_timeout(double seconds);
  // Ends the whole job now with `exit_code`, on every rank: for an error on one rank that the others would
  // otherwise wait for forever. Does not return.
  [[noreturn]] void abort(int exit_code);

 protected:
  virtual int do_rank() const = 0;
  virtual int do_size() const = 0;
  virtual std::unique_ptr<ProcessGroup> do_split(const std::string& name, int color, int key) = 0;
  virtual void do_set_timeout(double seconds) = 0;
  [[noreturn]] virtual void do_abort(int exit_code) = 0;
};

}  // namespace mtnlg
