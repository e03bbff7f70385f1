#include "rank_exchange.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <string>

#include "mtnlg/str.hpp"

namespace mtnlg::data::dedup {

namespace {

constexpr std::uint64_t kNoFailure = std::numeric_limits<std::uint64_t>::max();
// An error message longer than this is cut: it only has to name a file and a line.
constexpr std::size_t kMaxMessage = 64 * 1024;

// Records of record_bytes bytes as one MPI datatype, so counts and displacements are in records: MPI's int
// counts then reach 2^31 records rather than 2^31 bytes.
class RecordType {
 public:
  explicit RecordType(std::size_t record_bytes) {
    MPI_Type_contiguous(static_cast<int>(record_bytes), MPI_BYTE, &type_);
    MPI_Type_commit(&type_);
  }
  ~RecordType() { MPI_Type_free(&type_); }
  RecordType(const RecordType&) = delete;
  RecordType& operator=(const RecordType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

// Counts and their running offsets as MPI's ints; false if any does not fit.
bool to_int_counts(const std::vector<std::uint64_t>& counts, std::vector<int>& ints,
                   std::vector<int>& offsets) {
  ints.resize(counts.size());
  offsets.resize(counts.size());
  std::uint64_t offset = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (counts[r] > INT_MAX || offset > INT_MAX) return false;
    ints[r] = static_cast<int>(counts[r]);
    offsets[r] = static_cast<int>(offset);
    offset += counts[r];
  }
  return offset <= INT_MAX;
}

}  // namespace

RankExchange RankExchange::world() {
  RankExchange ranks;
  MPI_Comm_rank(MPI_COMM_WORLD, &ranks.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks.size_);
  return ranks;
}

void RankExchange::agree(std::uint64_t position, const std::function<void()>& step) const {
  if (size_ == 1) {
    step();
    return;
  }
  bool failed = false;
  std::string message;
  try {
    step();
  } catch (const std::exception& e) {
    failed = true, message = e.what();
  } catch (...) {
    failed = true, message = str("unknown error on rank ", rank_);
  }
  // One number orders the failures: position first, then rank (positions are small: dataset indices).
  const std::uint64_t mine =
      failed ? position * static_cast<std::uint64_t>(size_) + static_cast<std::uint64_t>(rank_) : kNoFailure;
  std::uint64_t first = kNoFailure;
  MPI_Allreduce(&mine, &first, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  if (first == kNoFailure) return;
  const int reporter = static_cast<int>(first % static_cast<std::uint64_t>(size_));
  std::uint64_t length = std::min(message.size(), kMaxMessage);
  MPI_Bcast(&length, 1, MPI_UINT64_T, reporter, MPI_COMM_WORLD);
  message.resize(length);
  MPI_Bcast(message.data(), static_cast<int>(length), MPI_CHAR, reporter, MPI_COMM_WORLD);
  throw AgreedFailure(message);
}

std::uint64_t RankExchange::sum(std::uint64_t mine) const {
  if (size_ == 1) return mine;
  std::uint64_t total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

void RankExchange::exchange_records(const void* send, const std::vector<std::size_t>& counts,
                                    std::size_t record_bytes, const ReceiveBuffer& receive) const {
  const std::vector<std::uint64_t> send_counts(counts.begin(), counts.end());
  std::vector<std::uint64_t> receive_counts(send_counts.size());
  MPI_Alltoall(send_counts.data(), 1, MPI_UINT64_T, receive_counts.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  std::vector<int> send_ints, send_offsets, receive_ints, receive_offsets;
  void* received = nullptr;
  // Only this rank sees its own counts (and allocates its own buffer), so whether they fit is agreed like any
  // other failure.
  agree(0, [&] {
    MTNLG_CHECK(
        to_int_counts(send_counts, send_ints, send_offsets) &&
            to_int_counts(receive_counts, receive_ints, receive_offsets),
        str("rank ", rank_, " would exchange more than 2^31 records in one MPI call; run more ranks"));
    std::uint64_t total = 0;
    for (const std::uint64_t c : receive_counts) total += c;
    received = receive(static_cast<std::size_t>(total));
  });
  const RecordType type(record_bytes);
  MPI_Alltoallv(send, send_ints.data(), send_offsets.data(), type.get(), received, receive_ints.data(),
                receive_offsets.data(), type.get(), MPI_COMM_WORLD);
}

void RankExchange::gather_records(const void* mine, std::size_t count, std::size_t record_bytes,
                                  const ReceiveBuffer& receive) const {
  const std::uint64_t my_count = count;
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(size_));
  MPI_Allgather(&my_count, 1, MPI_UINT64_T, counts.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
  std::vector<int> ints, offsets;
  void* all = nullptr;
  agree(0, [&] {
    MTNLG_CHECK(to_int_counts(counts, ints, offsets),
                "the ranks would gather more than 2^31 records in one MPI call; split the corpus");
    std::uint64_t total = 0;
    for (const std::uint64_t c : counts) total += c;
    all = receive(static_cast<std::size_t>(total));
  });
  const RecordType type(record_bytes);
  MPI_Allgatherv(mine, ints[static_cast<std::size_t>(rank_)], type.get(), all, ints.data(), offsets.data(),
                 type.get(), MPI_COMM_WORLD);
}

}  // namespace mtnlg::data::dedup
