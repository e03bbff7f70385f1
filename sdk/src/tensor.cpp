#include "mtnlg/tensor.hpp"

#include <cstdlib>
#include <sstream>

#include "mtnlg/str.hpp"

namespace mtnlg {

std::int64_t shape_numel(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) {
    MTNLG_CHECK(d >= 0, "negative dimension in shape " + shape_str(shape));
    MTNLG_CHECK(!__builtin_mul_overflow(n, d, &n),
                "shape " + shape_str(shape) + " has more than 2^63 elements");
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << '(';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ')';
  return out.str();
}

std::string device_str(Device device) {
  switch (device.kind) {
    case DeviceKind::meta:
      return "meta";
    case DeviceKind::cpu:
      return "cpu";
    case DeviceKind::cuda:
      return str("cuda:", device.index);
  }
  return "?";
}

Storage::Storage(void* data, std::size_t bytes, Device device,
                 std::function<void(void*, std::size_t)> release)
    : data_(data), bytes_(bytes), device_(device), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_) release_(data_, bytes_);
}

static Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype, std::int64_t offset)
    : storage_(std::move(storage)), shape_(std::move(shape)), offset_(offset), dtype_(dtype) {
  for (auto d : shape_) MTNLG_CHECK(d >= 0, "negative tensor dimension in " + shape_str(shape_));
  strides_ = contiguous_strides(shape_);
  MTNLG_CHECK(storage_ != nullptr, "tensor without storage");
  MTNLG_CHECK(static_cast<std::size_t>(offset_ + numel()) * dtype_size(dtype_) <= storage_->bytes(),
              str("tensor ", shape_str(shape_), " at offset ", offset_, " exceeds its storage of ",
                  storage_->bytes(), " bytes"));
}

std::int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int k = i < 0 ? i + n : i;
  MTNLG_CHECK(k >= 0 && k < n, str("dimension ", i, " out of range for shape ", shape_str(shape_)));
  return shape_[k];
}

bool Tensor::is_contiguous() const {
  return strides_ == contiguous_strides(shape_);
}

Device Tensor::device() const {
  return storage_ ? storage_->device() : Device{};
}

void* Tensor::data() const {
  if (!storage_ || storage_->data() == nullptr) return nullptr;
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<std::int64_t>(dtype_size(dtype_));
}

Tensor Tensor::reshape(Shape shape) const {
  MTNLG_CHECK(is_contiguous(), "reshape of a non-contiguous tensor " + describe());
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      MTNLG_CHECK(infer < 0, "reshape with more than one -1: " + shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    MTNLG_CHECK(known > 0 && numel() % known == 0,
                str("cannot reshape ", describe(), " to ", shape_str(shape)));
    shape[infer] = numel() / known;
  }
  MTNLG_CHECK(shape_numel(shape) == numel(), str("cannot reshape ", describe(), " to ", shape_str(shape)));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.strides_ = contiguous_strides(t.shape_);
  return t;
}

Tensor Tensor::slice(int dim_index, std::int64_t start, std::int64_t length) const {
  const int d = dim_index < 0 ? dim_index + ndim() : dim_index;
  MTNLG_CHECK(d >= 0 && d < ndim(), str("slice dimension ", dim_index, " out of range for ", describe()));
  MTNLG_CHECK(
      start >= 0 && length >= 0 && start + length <= shape_[d],
      str("slice [", start, ", ", start + length, ") of dimension ", d, " out of range for ", describe()));
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = length;
  return t;
}

Tensor Tensor::sub_buffer(std::int64_t element_offset, Shape shape) const {
  MTNLG_CHECK(is_contiguous(), "sub_buffer of a non-contiguous tensor " + describe());
  MTNLG_CHECK(element_offset >= 0 && element_offset + shape_numel(shape) <= numel(),
              str("sub_buffer ", shape_str(shape), " at ", element_offset, " exceeds ", describe()));
  return Tensor(storage_, std::move(shape), dtype_, offset_ + element_offset);
}

Tensor Tensor::transpose(int d0, int d1) const {
  const int a = d0 < 0 ? d0 + ndim() : d0, b = d1 < 0 ? d1 + ndim() : d1;
  MTNLG_CHECK(a >= 0 && a < ndim() && b >= 0 && b < ndim(),
              str("transpose(", d0, ", ", d1, ") of ", describe()));
  Tensor t = *this;
  std::swap(t.shape_[a], t.shape_[b]);
  std::swap(t.strides_[a], t.strides_[b]);
  return t;
}

std::string Tensor::describe() const {
  return str(dtype_name(dtype_), ' ', shape_str(shape_), " on ", device_str(device()));
}

Tensor host_tensor(Shape shape, DType dtype) {
  const std::size_t bytes = static_cast<std::size_t>(shape_numel(shape)) * dtype_size(dtype);
  void* data = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  MTNLG_CHECK(data != nullptr, str("out of host memory allocating ", bytes, " bytes"));
  auto storage = std::make_shared<Storage>(data, bytes, Device{DeviceKind::cpu, 0},
                                           [](void* p, std::size_t) { std::free(p); });
  return Tensor(std::move(storage), std::move(shape), dtype);
}

}  // namespace mtnlg
