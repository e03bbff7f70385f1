#pragma once
// The CUDA backend: device memory from a caching allocator, one stream per backend on which every op, upload
// and download is queued in order, GEMMs through cuBLAS, and the kernels of kernels/ for everything else.
// Nothing in an op waits for the device; synchronize() does, and raises the first data-dependent error a
// kernel reported (a token outside the vocabulary) as the CPU backend would have at the op.
//
// Recipe keys (declared in plugin.cpp, documented in README.md): device, tf32, attention, profile_ops.
// Uploads of up to 4 MiB go through pinned host buffers (pinned_staging.hpp), larger ones straight from the
// caller's pageable memory.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "mtnlg/backend.hpp"
#include "mtnlg/component.hpp"
#include "mtnlg/cuda/flash_attention.hpp"
#include "mtnlg/cuda/kernel_types.hpp"

#include "device_allocator.hpp"
#include "op_profiler.hpp"
#include "pinned_staging.hpp"

namespace mtnlg::cuda {

class CudaBackend final : public Backend {
 public:
  // Throws mtnlg::Error when no device is usable or a key is invalid.
  explicit CudaBackend(const CreateArgs& args);
  ~CudaBackend() override;

  // True when this process sees at least one CUDA device; else false and why (no driver, no device).
  static bool available(std::string& reason);

  Device device() const override { return {DeviceKind::cuda, device_}; }
  int device_index() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  // f32 GEMMs on tensor cores in TF32 (10-bit mantissa inputs, f32 accumulation) when the recipe allows it.
  bool tf32() const { return tf32_; }
  // The recipe's `attention` key; the conformance suite switches it to test both kernel families.
  FlashAttentionKernels attention_kernels() const { return attention_kernels_; }
  void set_attention_kernels(FlashAttentionKernels kernels) { attention_kernels_ = kernels; }
  // Where kernels report data-dependent errors (device memory), checked at synchronize().
  KernelError* error_record() const { return error_record_; }
  const cudaDeviceProp& properties() const { return properties_; }
  CacheStats cache_stats() const { return allocator_->cache_stats(); }
  // The per-op GPU time of key `profile_ops`, or null when the recipe asks for none.
  OpProfiler* profiler() const { return profiler_.get(); }

 protected:
  std::shared_ptr<Storage> do_allocate(std::size_t bytes) override;
  void do_upload(const Tensor& dst, const void* src) override;
  void do_download(void* dst, const Tensor& src) override;
  void do_submit(std::function<void(ExecContext&)> work) override;
  void do_synchronize() override;
  AllocStats do_alloc_stats() const override;

 private:
  void raise_kernel_error(const KernelError& error);

  int device_ = 0;
  bool tf32_ = false;
  FlashAttentionKernels attention_kernels_ = FlashAttentionKernels::tensor_cores;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  KernelError* error_record_ = nullptr;         // device
  KernelError* error_host_ = nullptr;           // pinned host copy, read after the stream drains
  std::unique_ptr<DeviceAllocator> allocator_;  // after the stream: freed before it
  std::unique_ptr<OpProfiler> profiler_;        // written out once the stream has drained
  std::unique_ptr<PinnedStaging> staging_;      // small uploads; freed once the stream has drained
};

}  // namespace mtnlg::cuda
