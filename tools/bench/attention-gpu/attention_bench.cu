// attention-gpu: the fused causal attention kernels of kernels/ timed on this GPU, tensor-core and SIMT, at
// the benchmark models' shapes, in one table (and PyTorch's scaled_dot_product_attention beside them, from
// torch_sdpa.py, when run.sh runs both). Forward and backward are timed separately with CUDA events over
// --iters launches after 3 warm-ups; FLOPs count the causal half of the two forward products, 2·B·H·T²·d,
// and 2.5 times that for the backward (FlashAttention's convention), so rows compare with FlashAttention's.
//
//   mtnlg_attention_bench [--iters N] [--dtype bf16|f16]
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mtnlg/cuda/flash_attention.hpp"

namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "attention-gpu: %s: %s\n", what, cudaGetErrorString(status));
    std::exit(1);
  }
}

struct Shape {
  const char* model;
  int batch, heads, t, d;
};

// A device buffer of n 16-bit values uniform in [-1, 1) (the bits of bf16 or f16 alike via float).
void* random_buffer(std::size_t n, mtnlg::DType dtype, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::uint16_t> host(n);
  for (auto& h : host) {
    const float x = u(rng);
    if (dtype == mtnlg::DType::bf16) {
      const __nv_bfloat16 b = __float2bfloat16(x);
      std::memcpy(&h, &b, 2);
    } else {
      const __half b = __float2half(x);
      std::memcpy(&h, &b, 2);
    }
  }
  void* p = nullptr;
  check(cudaMalloc(&p, n * 2), "cudaMalloc");
  check(cudaMemcpy(p, host.data(), n * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
  return p;
}

template <class F>
double time_ms(F&& launch, int iters) {
  for (int i = 0; i < 3; ++i) launch();
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  check(cudaEventRecord(start), "cudaEventRecord");
  for (int i = 0; i < iters; ++i) launch();
  check(cudaEventRecord(stop), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  check(cudaGetLastError(), "a kernel launch");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / iters;
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 20;
  mtnlg::DType dtype = mtnlg::DType::bf16;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--iters" && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else if (a == "--dtype" && i + 1 < argc) {
      const std::string v = argv[++i];
      if (v != "bf16" && v != "f16") {
        std::fprintf(stderr, "attention-gpu: --dtype must be bf16 or f16, not '%s'\n", v.c_str());
        return 2;
      }
      dtype = v == "bf16" ? mtnlg::DType::bf16 : mtnlg::DType::f16;
    } else {
      std::fprintf(stderr, "usage: %s [--iters N] [--dtype bf16|f16]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (iters < 1) {
    std::fprintf(stderr, "attention-gpu: --iters must be at least 1\n");
    return 2;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("attention-gpu: %s, %s, %d iterations\n", prop.name, dtype == mtnlg::DType::bf16 ? "bf16" : "f16",
              iters);
  std::printf("| model | B x H x T x d | kernels | forward ms | forward TFLOP/s | backward ms | backward TFLOP/s |\n");
  std::printf("| --- | --- | --- | ---: | ---: | ---: | ---: |\n");
  const Shape shapes[] = {{"gpt2-124m", 32, 12, 1024, 64}, {"gpt-1.3b", 4, 16, 2048, 128}};
  std::mt19937 rng(1234);
  for (const Shape& s : shapes) {
    const std::int64_t bh = static_cast<std::int64_t>(s.batch) * s.heads;
    const std::size_t n = static_cast<std::size_t>(bh) * s.t * s.d;
    void *q = random_buffer(n, dtype, rng), *k = random_buffer(n, dtype, rng), *v = random_buffer(n, dtype, rng),
         *dout = random_buffer(n, dtype, rng);
    void *out = nullptr, *lse = nullptr, *dq = nullptr, *dk = nullptr, *dv = nullptr;
    for (void** p : {&out, &dq, &dk, &dv}) check(cudaMalloc(p, n * 2), "cudaMalloc");
    check(cudaMalloc(&lse, static_cast<std::size_t>(bh) * s.t * 4), "cudaMalloc");
    const double scale = 1.0 / std::sqrt(static_cast<double>(s.d));
    const double forward_flops = 2.0 * static_cast<double>(bh) * s.t * s.t * s.d;
    for (auto kernels : {mtnlg::cuda::FlashAttentionKernels::tensor_cores, mtnlg::cuda::FlashAttentionKernels::simt}) {
      const double fwd = time_ms(
          [&] { mtnlg::cuda::flash_attention_forward(dtype, q, k, v, out, lse, bh, s.t, s.d, scale, kernels, nullptr); },
          iters);
      const double bwd = time_ms(
          [&] {
            mtnlg::cuda::flash_attention_backward(dtype, q, k, v, out, lse, dout, dq, dk, dv, bh, s.t, s.d, scale,
                                                  kernels, nullptr);
          },
          iters);
      std::printf("| %s | %d x %d x %d x %d | mtnlg %s | %.3f | %.1f | %.3f | %.1f |\n", s.model, s.batch, s.heads,
                  s.t, s.d, kernels == mtnlg::cuda::FlashAttentionKernels::tensor_cores ? "tensor cores" : "SIMT",
                  fwd, forward_flops / fwd / 1e9, bwd, 2.5 * forward_flops / bwd / 1e9);
      std::fflush(stdout);
    }
    for (void* p : {q, k, v, dout, out, lse, dq, dk, dv}) cudaFree(p);
  }
  return 0;
}
