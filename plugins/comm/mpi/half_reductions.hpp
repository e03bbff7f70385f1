#pragma once
// MPI has no bf16 or f16 arithmetic, but tensor parallelism all-reduces 16-bit activations in mixed
// precision. These are user-defined MPI operations on 16-bit payloads (moved as MPI_UINT16_T) that widen each
// pair to float, add (or take the larger), and round back once to nearest-even: NCCL's semantics for 16-bit
// sums.
#include <mpi.h>

#include "mtnlg/communicator.hpp"
#include "mtnlg/dtype.hpp"

namespace mtnlg::comm {

// The MPI operation reducing `dtype` by `op`: MPI's own for the types it has arithmetic for, ours for bf16
// and f16 (created on first use, after MPI_Init).
MPI_Op mpi_reduce_op(DType dtype, ReduceOp op);

}  // namespace mtnlg::comm
