#include "cuda_backend.hpp"

#include <cstdlib>
#include <cstring>

#include "mtnlg/error.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

#include "cuda_ops.hpp"
#include "cuda_status.hpp"

namespace mtnlg::cuda {

namespace {

// Pinned upload buffers: 4 × 4 MiB covers a step's tokens and targets (micro-batch 32 × 2048 × 4 bytes = 256
// KiB each) several steps ahead.
constexpr std::size_t kStagingSlotBytes = std::size_t{4} << 20;
constexpr int kStagingSlots = 4;

// The node-local rank from the launcher (mpirun, srun, torchrun-style), or 0: picks this rank's GPU.
int local_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"})
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return std::atoi(v);
  return 0;
}

int choose_device(const Table& params, int count) {
  const std::int64_t asked = params.get_int("device");
  if (asked < 0) return local_rank() % count;
  const Value* v = params.find("device");
  MTNLG_CHECK(asked < count, str("cuda backend: key 'device'", v ? str(" (", v->pos.str(), ")") : "", " is ",
                                 asked, " but this process sees ", count, " CUDA device(s) (0..", count - 1,
                                 "); use -1 to pick by local rank"));
  return static_cast<int>(asked);
}

}  // namespace

bool CudaBackend::available(std::string& reason) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    reason = str("no usable CUDA device: cudaGetDeviceCount says ", cudaGetErrorString(status), " (",
                 cudaGetErrorName(status), ")",
                 status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice
                     ? "; this machine has no NVIDIA driver or GPU"
                     : "");
    return false;
  }
  if (count == 0) {
    reason = "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)";
    return false;
  }
  return true;
}

CudaBackend::CudaBackend(const CreateArgs& args) {
  std::string why;
  MTNLG_CHECK(available(why), str("cuda backend: ", why));
  int count = 0;
  MTNLG_CUDA_CHECK(cudaGetDeviceCount(&count), 0);
  device_ = choose_device(args.params, count);
  if (const Value* tf32 = args.params.find("tf32")) tf32_ = tf32->as_bool();
  if (const Value* attention = args.params.find("attention")) {
    const std::string& name = attention->as_string();
    MTNLG_CHECK(name == "tensor_cores" || name == "simt",
                str("cuda backend: key 'attention' (", attention->pos.str(), ") is \"", name,
                    "\"; use \"tensor_cores\" or \"simt\""));
    attention_kernels_ = name == "simt" ? FlashAttentionKernels::simt : FlashAttentionKernels::tensor_cores;
  }
  MTNLG_CUDA_CHECK(cudaSetDevice(device_), device_);
  MTNLG_CUDA_CHECK(cudaGetDeviceProperties(&properties_, device_), device_);
  MTNLG_CHECK(
      properties_.major >= 8,
      str("cuda backend: ", properties_.name, " (", where_str(device_), ") has compute capability ",
          properties_.major, ".", properties_.minor, "; mtnlg's kernels need 8.0 or newer (A100, H100)"));
  if (const Value* profile = args.params.find("profile_ops");
      profile != nullptr && !profile->as_string().empty())
    profiler_ = std::make_unique<OpProfiler>(
        profile->as_string(), str("cuda backend: key 'profile_ops' (", profile->pos.str(), ")"),
        str(where_str(device_), ", ", properties_.name), device_);
  MTNLG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), device_);
  MTNLG_CUBLAS_CHECK(cublasCreate(&cublas_), device_);
  MTNLG_CUBLAS_CHECK(cublasSetStream(cublas_, stream_), device_);
  MTNLG_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&error_record_), sizeof(KernelError)), device_);
  MTNLG_CUDA_CHECK(cudaMemset(error_record_, 0, sizeof(KernelError)), device_);
  MTNLG_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&error_host_), sizeof(KernelError)), device_);
  std::memset(static_cast<void*>(error_host_), 0, sizeof(KernelError));
  allocator_ = std::make_unique<DeviceAllocator>(device_);
  staging_ = std::make_unique<PinnedStaging>(device_, kStagingSlotBytes, kStagingSlots);

  register_gemm_ops(ops());
  register_elementwise_ops(ops());
  register_reduction_ops(ops());
  register_dropout_ops(ops());
  register_optimizer_ops(ops());
  register_embedding_ops(ops());
  register_normalization_ops(ops());
  register_attention_ops(ops());
  register_loss_ops(ops());
  register_flash_attention_ops(ops());
  log_debug("cuda backend: ", properties_.name, " (", where_str(device_), ", ",
            properties_.multiProcessorCount, " SMs, ", properties_.totalGlobalMem >> 20, " MiB)",
            tf32_ ? ", TF32 GEMMs" : "",
            profiler_ ? str(", per-op GPU time to ", profiler_->file().string()) : "");
}

// Teardown never throws: errors here (a device already lost) have no one left to report to.
CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (profiler_) profiler_->write_report();
  profiler_.reset();
  staging_.reset();
  allocator_.reset();
  if (error_record_ != nullptr) cudaFree(error_record_);
  if (error_host_ != nullptr) cudaFreeHost(error_host_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

std::shared_ptr<Storage> CudaBackend::do_allocate(std::size_t bytes) {
  return allocator_->allocate(bytes, [this] { MTNLG_CUDA_CHECK(cudaStreamSynchronize(stream_), device_); });
}

namespace {
void check_device_copy(const char* what, const Tensor& t, const void* host, Device device) {
  MTNLG_CHECK(t.device() == device, str(what, ": tensor ", t.describe(), " is not on ", device_str(device),
                                        "; use the backend that allocated it"));
  MTNLG_CHECK(t.is_contiguous(), str(what, ": tensor ", t.describe(), " is not contiguous"));
  MTNLG_CHECK(host != nullptr || t.nbytes() == 0, str(what, ": null host pointer for ", t.describe()));
}
}  // namespace

// Small uploads (a step's tokens and targets) through pinned buffers, so the host does not wait for the
// stream; larger ones from pageable memory, which the driver stages. Either way `src` may change as soon as
// the call returns, which the Backend contract (valid until synchronize) allows for.
void CudaBackend::do_upload(const Tensor& dst, const void* src) {
  check_device_copy("upload", dst, src, device());
  if (dst.nbytes() == 0) return;
  if (staging_->upload(dst.data(), src, dst.nbytes(), stream_)) return;
  MTNLG_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src, dst.nbytes(), cudaMemcpyHostToDevice, stream_), device_);
}

void CudaBackend::do_download(void* dst, const Tensor& src) {
  check_device_copy("download", src, dst, device());
  if (src.nbytes() == 0) return;
  MTNLG_CUDA_CHECK(cudaMemcpyAsync(dst, src.data(), src.nbytes(), cudaMemcpyDeviceToHost, stream_), device_);
}

// Work runs now on the host and queues its kernels on the stream: the host never waits for the device here.
void CudaBackend::do_submit(std::function<void(ExecContext&)> work) {
  ExecContext ctx{*this, stream_};
  work(ctx);
}

void CudaBackend::do_synchronize() {
  MTNLG_CUDA_CHECK(
      cudaMemcpyAsync(error_host_, error_record_, sizeof(KernelError), cudaMemcpyDeviceToHost, stream_),
      device_);
  MTNLG_CUDA_CHECK(cudaStreamSynchronize(stream_), device_);
  if (profiler_) profiler_->resolve();
  if (error_host_->code != 0) {
    const KernelError error = *error_host_;
    std::memset(static_cast<void*>(error_host_), 0, sizeof(KernelError));
    MTNLG_CUDA_CHECK(cudaMemsetAsync(error_record_, 0, sizeof(KernelError), stream_), device_);
    MTNLG_CUDA_CHECK(cudaStreamSynchronize(stream_), device_);
    raise_kernel_error(error);
  }
}

void CudaBackend::raise_kernel_error(const KernelError& e) {
  const char* fix = "; the token ids do not match the model's vocabulary (check the tokenizer and the data)";
  switch (static_cast<KernelErrorCode>(e.code)) {
    case KernelErrorCode::token_out_of_range:
      fail(str("embedding: token id ", e.value, " at flat position ", e.row, " (b·T + t) is outside [0, ",
               e.limit, ")", fix, " [found on ", where_str(device_), "]"));
    case KernelErrorCode::target_out_of_range:
      fail(str("cross_entropy: targets[", e.row, "] = ", e.value, " is outside [0, ", e.limit, ")", fix,
               " [found on ", where_str(device_), "]"));
    case KernelErrorCode::negative_target:
      fail(str("cross_entropy: targets[", e.row, "] = ", e.value, " is negative", fix, " [found on ",
               where_str(device_), "]"));
    case KernelErrorCode::none:
      break;
  }
  fail(str("a CUDA kernel reported unknown error code ", e.code, " on ", where_str(device_)));
}

AllocStats CudaBackend::do_alloc_stats() const {
  return allocator_->stats();
}

void check_launch(const char* op, DType dtype, ExecContext& ctx) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail(str(op, " (", dtype_name(dtype), "): kernel launch failed on ",
             where_str(backend_of(ctx).device_index()), ": ", cudaGetErrorString(status), " (",
             cudaGetErrorName(status), ")"));
}

}  // namespace mtnlg::cuda
