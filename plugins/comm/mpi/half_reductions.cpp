#include "half_reductions.hpp"

#include <algorithm>

#include "mtnlg/half.hpp"

namespace mtnlg::comm {

namespace {

// inout[i] = in[i] ∘ inout[i], computed in float and rounded once.
template <class Half, class Combine>
void combine(void* in, void* inout, const int* len, Combine f) {
  const auto* a = static_cast<const Half*>(in);
  auto* b = static_cast<Half*>(inout);
  for (int i = 0; i < *len; ++i) {
    const float r = f(to_float(a[i]), to_float(b[i]));
    if constexpr (std::is_same_v<Half, bf16>)
      b[i] = to_bf16(r);
    else
      b[i] = to_f16(r);
  }
}

extern "C" void bf16_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  combine<bf16>(in, inout, len, [](float x, float y) { return x + y; });
}
extern "C" void bf16_max(void* in, void* inout, int* len, MPI_Datatype*) {
  combine<bf16>(in, inout, len, [](float x, float y) { return std::max(x, y); });
}
extern "C" void f16_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  combine<f16>(in, inout, len, [](float x, float y) { return x + y; });
}
extern "C" void f16_max(void* in, void* inout, int* len, MPI_Datatype*) {
  combine<f16>(in, inout, len, [](float x, float y) { return std::max(x, y); });
}

MPI_Op created(MPI_User_function* f) {
  MPI_Op op = MPI_OP_NULL;
  MPI_Op_create(f, /*commute=*/1, &op);
  return op;
}

}  // namespace

MPI_Op mpi_reduce_op(DType dtype, ReduceOp op) {
  const bool sum = op == ReduceOp::sum;
  switch (dtype) {
    case DType::bf16: {
      static const MPI_Op s = created(bf16_sum), m = created(bf16_max);
      return sum ? s : m;
    }
    case DType::f16: {
      static const MPI_Op s = created(f16_sum), m = created(f16_max);
      return sum ? s : m;
    }
    default:
      return sum ? MPI_SUM : MPI_MAX;
  }
}

}  // namespace mtnlg::comm
