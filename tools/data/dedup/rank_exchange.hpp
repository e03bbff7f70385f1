#pragma once
// The collective operations the ranks of one sharded dedup run use to combine their shares: all-to-all
// exchange of fixed-size records, all-gather, a sum, and agreement on failure. A RankExchange is either one
// process without MPI, where every collective is the identity and nothing is sent (so a single-process run
// takes exactly the path it always did), or the ranks of MPI_COMM_WORLD (see MpiSession).
//
// Failure handling: a rank that throws while the others wait in a collective would hang the job, so every
// step that can fail on some ranks only (bad input, an unreadable file) runs inside agree(), which ends with
// one MPI_Allreduce telling every rank whether any of them failed. If one did, every rank throws the same
// AgreedFailure together, and the command can finish MPI normally instead of aborting it. MPI errors
// themselves keep OpenMPI's default handler (MPI_ERRORS_ARE_FATAL): they end the job rather than hang it.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <type_traits>
#include <vector>

#include "mtnlg/error.hpp"

namespace mtnlg::data::dedup {

// A failure every rank of the run throws at the same point, with the same message.
class AgreedFailure : public Error {
 public:
  using Error::Error;
};

class RankExchange {
 public:
  // One process, no MPI.
  RankExchange() = default;
  // The ranks of MPI_COMM_WORLD; MPI must be initialised. One rank behaves exactly like RankExchange().
  static RankExchange world();

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Runs step on this rank, then agrees with the others on whether any of them threw. If some did, every rank
  // throws AgreedFailure with the message of the failure a single process would have met first: the lowest
  // `position` (where in input order the step works, e.g. the index of the dataset being read; small
  // numbers), then the lowest rank, since ranks hold ascending shares of each dataset. With one process the
  // step's own exception propagates unchanged.
  void agree(std::uint64_t position, const std::function<void()>& step) const;

  // outgoing[r] goes to rank r; returns what every rank sent to this one, rank 0's items first.
  template <class T>
  std::vector<T> all_to_all(std::vector<std::vector<T>> outgoing) const {
    static_assert(std::is_trivially_copyable_v<T>, "records travel as bytes");
    if (size_ == 1) return std::move(outgoing.at(0));
    std::vector<std::size_t> counts(outgoing.size());
    std::size_t total = 0;
    for (std::size_t r = 0; r < outgoing.size(); ++r) total += counts[r] = outgoing[r].size();
    std::vector<T> send;
    send.reserve(total);
    for (auto& items : outgoing) {
      send.insert(send.end(), items.begin(), items.end());
      std::vector<T>().swap(items);  // the packed copy replaces it: free it now
    }
    std::vector<T> received;
    exchange_records(send.data(), counts, sizeof(T), [&](std::size_t n) {
      received.resize(n);
      return static_cast<void*>(received.data());
    });
    return received;
  }

  // Every rank's items, rank 0's first.
  template <class T>
  std::vector<T> all_gather(std::span<const T> mine) const {
    static_assert(std::is_trivially_copyable_v<T>, "records travel as bytes");
    if (size_ == 1) return {mine.begin(), mine.end()};
    std::vector<T> all;
    gather_records(mine.data(), mine.size(), sizeof(T), [&](std::size_t n) {
      all.resize(n);
      return static_cast<void*>(all.data());
    });
    return all;
  }

  std::uint64_t sum(std::uint64_t mine) const;

 private:
  using ReceiveBuffer = std::function<void*(std::size_t records)>;
  // Record-level MPI_Alltoallv / MPI_Allgatherv; the receive buffer is asked for once the count is known.
  void exchange_records(const void* send, const std::vector<std::size_t>& counts, std::size_t record_bytes,
                        const ReceiveBuffer& receive) const;
  void gather_records(const void* mine, std::size_t count, std::size_t record_bytes,
                      const ReceiveBuffer& receive) const;

  int rank_ = 0;
  int size_ = 1;
};

}  // namespace mtnlg::data::dedup
