// The comm/mpi plugin's entry point: one component, communicator `mpi`, with no recipe keys (see README.md).
#include "mtnlg/plugin.hpp"

#include "mpi_communicator.hpp"

MTNLG_PLUGIN(
    "comm-mpi", "0.1.0",
    mtnlg::component<mtnlg::comm::MpiCommunicator>("mpi",
                                                   "OpenMPI: collectives and point-to-point on host tensors "
                                                   "(device ones staged through host memory), with timeouts"))
