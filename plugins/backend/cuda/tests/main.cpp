// The conformance suite needs a GPU: without one it says why and exits 77, which CTest reports as skipped
// (SKIP_RETURN_CODE), so the suite is part of every test run and passes or skips honestly.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cuda_backend.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string why;
  if (!mtnlg::cuda::CudaBackend::available(why)) {
    std::printf("SKIP: the CUDA backend conformance suite needs a GPU: %s\n", why.c_str());
    return 77;
  }
  return RUN_ALL_TESTS();
}
