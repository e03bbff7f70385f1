#pragma once
// A Tensor is a view: shape + strides (in elements) + element offset + dtype over a Storage that a backend's
// allocator owns. Copying a Tensor copies the view, never the data.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mtnlg/dtype.hpp"
#include "mtnlg/error.hpp"
#include "mtnlg/export.hpp"

namespace mtnlg {

using Shape = std::vector<std::int64_t>;

MTNLG_SDK_API std::int64_t shape_numel(const Shape& shape);
MTNLG_SDK_API std::string shape_str(const Shape& shape);  // "(2, 3, 4)"

enum class DeviceKind : std::uint8_t { meta, cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;
  bool operator==(const Device&) const = default;
};

MTNLG_SDK_API std::string device_str(Device device);  // "cpu", "cuda:0", "meta"

// A block of memory and how to give it back. data is null on the meta device (accounting only).
class MTNLG_SDK_API Storage {
 public:
  Storage(void* data, std::size_t bytes, Device device, std::function<void(void*, std::size_t)> release);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  std::size_t bytes_;
  Device device_;
  std::function<void(void*, std::size_t)> release_;
};

class MTNLG_SDK_API Tensor {
 public:
  Tensor() = default;
  // A contiguous view of `shape` starting `offset` elements into `storage`.
  Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype, std::int64_t offset = 0);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  std::int64_t offset() const { return offset_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const;  // negative i counts from the end
  std::int64_t numel() const { return shape_numel(shape_); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  Device device() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // Raw pointer to the first element (null on the meta device). Plugins use it to run their own kernels.
  void* data() const;
  template <class T>
  T* data_as() const {
    MTNLG_CHECK(dtype_of<T>() == dtype_, "tensor dtype mismatch: tensor is " +
                                             std::string(dtype_name(dtype_)) + ", accessed as " +
                                             std::string(dtype_name(dtype_of<T>())));
    return static_cast<T*>(data());
  }

  // Same elements, new shape (contiguous tensors only; one dimension may be -1).
  Tensor reshape(Shape shape) const;
  // Elements [start, start + length) of dimension `dim` (strided view).
  Tensor slice(int dim, std::int64_t start, std::int64_t length) const;
  // A contiguous sub-buffer of a contiguous tensor: `shape` starting `element_offset` elements in.
  Tensor sub_buffer(std::int64_t element_offset, Shape shape) const;
  // The same view with dimensions d0 and d1 swapped (strides swapped, no copy).
  Tensor transpose(int d0, int d1) const;

  std::string describe() const;  // "f32 (2, 3) on cpu"

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;
  DType dtype_ = DType::f32;
};

// Host memory, for readers and for moving data in and out of a backend.
MTNLG_SDK_API Tensor host_tensor(Shape shape, DType dtype);

}  // namespace mtnlg
