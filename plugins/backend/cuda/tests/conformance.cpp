#include "conformance.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "mtnlg/str.hpp"

namespace mtnlg::cuda::test {

double tolerance(DType dtype) {
  switch (dtype) {
    case DType::f64:
      return 1e-12;
    case DType::f32:
      return 1e-5;
    case DType::f16:
      return 2e-3;
    case DType::bf16:
      return 1e-2;
    default:
      return 0.0;  // integers: exact
  }
}

double round_to(DType dtype, double value) {
  switch (dtype) {
    case DType::f32:
      return static_cast<float>(value);
    case DType::bf16:
      return __bfloat162float(__float2bfloat16_rn(static_cast<float>(value)));
    case DType::f16:
      return __half2float(__float2half_rn(static_cast<float>(value)));
    default:
      return value;
  }
}

std::vector<double> round_to(DType dtype, std::vector<double> values) {
  for (double& v : values) v = round_to(dtype, v);
  return values;
}

namespace {

// Host bytes of `values` in `dtype`.
std::vector<unsigned char> encode(DType dtype, const std::vector<double>& values) {
  std::vector<unsigned char> bytes(values.size() * dtype_size(dtype));
  for (std::size_t i = 0; i < values.size(); ++i) {
    unsigned char* at = bytes.data() + i * dtype_size(dtype);
    const double v = values[i];
    switch (dtype) {
      case DType::f32: {
        const float x = static_cast<float>(v);
        std::memcpy(at, &x, 4);
        break;
      }
      case DType::f64:
        std::memcpy(at, &v, 8);
        break;
      case DType::bf16: {
        const __nv_bfloat16 x = __float2bfloat16_rn(static_cast<float>(v));
        std::memcpy(at, &x, 2);
        break;
      }
      case DType::f16: {
        const __half x = __float2half_rn(static_cast<float>(v));
        std::memcpy(at, &x, 2);
        break;
      }
      case DType::i32: {
        const auto x = static_cast<std::int32_t>(v);
        std::memcpy(at, &x, 4);
        break;
      }
      default:
        ADD_FAILURE() << "conformance: no encoding for " << dtype_name(dtype);
    }
  }
  return bytes;
}

std::vector<double> decode(DType dtype, const std::vector<unsigned char>& bytes) {
  const std::size_t n = bytes.size() / dtype_size(dtype);
  std::vector<double> values(n);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* at = bytes.data() + i * dtype_size(dtype);
    switch (dtype) {
      case DType::f32: {
        float x;
        std::memcpy(&x, at, 4);
        values[i] = x;
        break;
      }
      case DType::f64:
        std::memcpy(&values[i], at, 8);
        break;
      case DType::bf16: {
        __nv_bfloat16 x;
        std::memcpy(&x, at, 2);
        values[i] = __bfloat162float(x);
        break;
      }
      case DType::f16: {
        __half x;
        std::memcpy(&x, at, 2);
        values[i] = __half2float(x);
        break;
      }
      case DType::i32: {
        std::int32_t x;
        std::memcpy(&x, at, 4);
        values[i] = x;
        break;
      }
      default:
        ADD_FAILURE() << "conformance: no decoding for " << dtype_name(dtype);
    }
  }
  return values;
}

bool is_floating(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::bf16 || dtype == DType::f16;
}

Tensor upload(Backend& backend, const Shape& shape, DType dtype, const std::vector<double>& values) {
  Tensor t = backend.empty(shape, dtype);
  const std::vector<unsigned char> bytes = encode(dtype, values);
  backend.upload(t, bytes.data());
  backend.synchronize();
  return t;
}

std::vector<double> download(Backend& backend, const Tensor& t) {
  std::vector<unsigned char> bytes(t.nbytes());
  backend.download(bytes.data(), t);
  backend.synchronize();
  return decode(t.dtype(), bytes);
}

}  // namespace

CudaBackend& Conformance::gpu() {
  static CudaBackend* backend = [] {
    Table params;
    params.set("device", Value(std::int64_t{-1}));
    params.set("tf32", Value(false));
    const Table recipe;
    auto* b = new CudaBackend(CreateArgs{params, recipe});
    b->set_component_label("backend 'cuda'");
    return b;
  }();
  return *backend;
}

cpu::CpuBackend& Conformance::cpu() {
  static cpu::CpuBackend* backend = [] {
    Table params;
    params.set("threads", Value(std::int64_t{0}));
    params.set("deferred", Value(false));
    const Table recipe;
    auto* b = new cpu::CpuBackend(CreateArgs{params, recipe});
    b->set_component_label("backend 'cpu'");
    return b;
  }();
  return *backend;
}

Pair Conformance::random(Shape shape, DType dtype, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> values(static_cast<std::size_t>(shape_numel(shape)));
  for (double& v : values) v = dist(rng_);
  return from_values(std::move(shape), dtype, std::move(values));
}

Pair Conformance::from_values(Shape shape, DType dtype, std::vector<double> values) {
  values = round_to(dtype, std::move(values));
  const DType cpu_dtype = is_floating(dtype) ? DType::f64 : dtype;
  return Pair{values, upload(gpu(), shape, dtype, values), upload(cpu(), shape, cpu_dtype, values)};
}

Pair Conformance::tokens(Shape shape, std::int32_t limit) {
  std::uniform_int_distribution<std::int32_t> dist(0, limit - 1);
  std::vector<double> values(static_cast<std::size_t>(shape_numel(shape)));
  for (double& v : values) v = dist(rng_);
  return from_values(std::move(shape), DType::i32, std::move(values));
}

Pair Conformance::output(Shape shape, DType dtype) {
  const double poison = is_floating(dtype) ? std::numeric_limits<double>::quiet_NaN() : 2147483647.0;
  std::vector<double> values(static_cast<std::size_t>(shape_numel(shape)), poison);
  const DType cpu_dtype = is_floating(dtype) ? DType::f64 : dtype;
  return Pair{values, upload(gpu(), shape, dtype, values), upload(cpu(), shape, cpu_dtype, values)};
}

Pair Conformance::output_like(const Pair& like, DType dtype) {
  return from_values(like.gpu.shape(), dtype, like.values);
}

std::vector<double> Conformance::gpu_values(const Tensor& t) {
  return download(gpu(), t);
}

std::vector<double> Conformance::cpu_values(const Tensor& t) {
  return download(cpu(), t);
}

void Conformance::expect_close(const Pair& out, DType dtype, const std::string& what, double tol) {
  const std::vector<double> got = gpu_values(out.gpu), ref = cpu_values(out.cpu);
  ASSERT_EQ(got.size(), ref.size()) << what;
  const double limit = tol > 0.0 ? tol : tolerance(dtype);
  double diff2 = 0.0, ref2 = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isfinite(ref[i]) && !std::isfinite(got[i])) {
      ADD_FAILURE() << what << " (" << dtype_name(dtype) << ", seed " << seed_ << "): element " << i << " is "
                    << got[i] << " where the reference is " << ref[i]
                    << (std::isnan(got[i]) ? " (NaN: never written, or computed as NaN)" : "");
      return;
    }
    if (!std::isfinite(ref[i])) {
      if (!(got[i] == ref[i] || (std::isnan(got[i]) && std::isnan(ref[i]))))
        ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", reference " << ref[i];
      continue;
    }
    diff2 += (got[i] - ref[i]) * (got[i] - ref[i]);
    ref2 += ref[i] * ref[i];
  }
  const double rel = ref2 > 0.0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  EXPECT_LE(rel, limit) << what << " (" << dtype_name(dtype) << ", seed " << seed_
                        << "): ‖got − ref‖/‖ref‖ = " << rel << " over " << got.size() << " elements";
}

std::string dtype_param_name(const ::testing::TestParamInfo<DType>& info) {
  return std::string(dtype_name(info.param));
}

}  // namespace mtnlg::cuda::test
