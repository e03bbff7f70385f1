#include "engine/scalar_all_reduce.hpp"

namespace mtnlg::host {

double all_reduce_scalar(ProcessGroup* group, Backend& backend, double value, ReduceOp op) {
  if (group == nullptr || group->size() == 1) return value;
  Tensor t = backend.empty({1}, DType::f64);
  backend.upload(t, &value);
  group->all_reduce(backend, t, op)->wait();
  backend.download(&value, t);
  backend.synchronize();
  return value;
}

}  // namespace mtnlg::host
