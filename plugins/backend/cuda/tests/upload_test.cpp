// Uploads: small ones go through the backend's ring of pinned buffers (pinned_staging.hpp), large ones from
// pageable memory. Each upload must deliver what the source held when upload() returned, even when the source
// is overwritten at once, the ring wraps around several times, and the stream is still busy with earlier work
// (so a slot is reused only after its copy ran).
#include <cstdint>
#include <numeric>
#include <vector>

#include "mtnlg/ops.hpp"

#include "conformance.hpp"
#include "pinned_staging.hpp"

namespace mtnlg::cuda::test {
namespace {

class Uploads : public Conformance {
 protected:
  // Keeps the stream busy for a while (a 4096³ f32 GEMM), so the copies queued next wait behind it.
  void queue_busy_work() {
    const Tensor a = gpu().empty({4096, 4096}, DType::f32), c = gpu().empty({4096, 4096}, DType::f32);
    gpu().run(ops::fill, ops::FillArgs{a, 0.5});
    gpu().run(ops::gemm, ops::GemmArgs{a, a, c});
  }

  std::vector<std::int32_t> download_i32(const Tensor& t) {
    std::vector<std::int32_t> values(static_cast<std::size_t>(t.numel()));
    gpu().download(values.data(), t);
    gpu().synchronize();
    return values;
  }
};

TEST_F(Uploads, EachDeliversItsSourceAsItWasWhenUploadReturned) {
  // 4 slots of 4 MiB in the backend: 3 MiB uploads wrap the ring four times; 5 MiB ones bypass it.
  for (const std::int64_t bytes :
       {std::int64_t{4}, std::int64_t{1} << 10, std::int64_t{3} << 20, std::int64_t{5} << 20}) {
    const std::int64_t n = bytes / 4;
    queue_busy_work();
    std::vector<std::int32_t> source(static_cast<std::size_t>(n));
    std::vector<Tensor> uploaded;
    for (int i = 0; i < 17; ++i) {
      std::iota(source.begin(), source.end(), i * 1000);
      uploaded.push_back(gpu().empty({n}, DType::i32));
      gpu().upload(uploaded.back(), source.data());
      std::fill(source.begin(), source.end(), -1);  // the upload must not see this
    }
    for (int i = 0; i < 17; ++i) {
      const std::vector<std::int32_t> got = download_i32(uploaded[static_cast<std::size_t>(i)]);
      std::vector<std::int32_t> want(static_cast<std::size_t>(n));
      std::iota(want.begin(), want.end(), i * 1000);
      ASSERT_EQ(got, want) << "upload " << i << " of " << bytes << " bytes";
    }
  }
}

TEST_F(Uploads, StagingTakesOnlyWhatFitsASlot) {
  PinnedStaging staging(gpu().device_index(), 64, 2);
  const Tensor t = gpu().empty({32}, DType::i32);
  std::vector<std::int32_t> source(32, 7);
  EXPECT_FALSE(staging.upload(t.data(), source.data(), 128, gpu().stream()));
  EXPECT_TRUE(staging.upload(t.data(), source.data(), 64, gpu().stream()));
  gpu().synchronize();  // the staging's copies are on the backend's stream: drained before it goes
  const std::vector<std::int32_t> got = download_i32(t);
  EXPECT_EQ(std::vector<std::int32_t>(got.begin(), got.begin() + 16), std::vector<std::int32_t>(16, 7));
}

}  // namespace
}  // namespace mtnlg::cuda::test
