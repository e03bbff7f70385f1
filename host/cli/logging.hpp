#pragma once
// spdlog for the host, with the rank in every line: rank 0 logs to the console (stderr, so stdout stays clean
// for listings and --print). Plugins log
// through the SDK's facade, whose sink this installs.
#include <string>

namespace mtnlg::host {

// The launcher's rank (OpenMPI, PMI, Slurm), without linking MPI; 0 when not launched by one.
int rank_from_environment();

// `level`: trace, debug, info, warn, error. Throws mtnlg::Error naming the valid levels otherwise.
void setup_logging(const std::string& level);

}  // namespace mtnlg::host
