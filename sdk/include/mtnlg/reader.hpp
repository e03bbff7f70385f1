#pragma once
// A reader turns a global sample range into host tensors. The engine copies them to the device; only the
// stages that need inputs or targets call it.
#include <cstdint>
#include <string>

#include "mtnlg/component.hpp"
#include "mtnlg/tensor.hpp"

namespace mtnlg {

struct BatchRequest {
  std::string split = "train";    // "train", "valid", "test"
  std::int64_t first_sample = 0;  // global sample index
  int samples = 1;
};

struct Batch {
  Tensor inputs;   // host: (samples, ...) — token ids (i32) for language models
  Tensor targets;  // host: what the loss layer compares against
};

class MTNLG_SDK_API Reader : public Component {
 public:
  static constexpr const char* kKind = "reader";
  ~Reader() override;
  Batch read(const BatchRequest& request);

 protected:
  virtual Batch do_read(const BatchRequest& request) = 0;
};

}  // namespace mtnlg
