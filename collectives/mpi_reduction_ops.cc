#include "collectives/mpi_reduction_ops.h"

#include <algorithm>
#include <cstdint>

#include "collectives/half.h"
#include "collectives/mpi_check.h"

namespace hvd {
namespace {

struct SumOp {
  static float apply(float a, float b) { return a + b; }
};
struct MinOp {
  static float apply(float a, float b) { return std::min(a, b); }
};
struct MaxOp {
  static float apply(float a, float b) { return std::max(a, b); }
};
struct ProductOp {
  static float apply(float a, float b) { return a * b; }
};

template <class Codec, class Op>
void reduce_half(void* in, void* inout, int* len, MPI_Datatype* /*type*/) {
  const auto* a = static_cast<const std::uint16_t*>(in);
  auto* b = static_cast<std::uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    b[i] = Codec::encode(Op::apply(Codec::decode(a[i]), Codec::decode(b[i])));
  }
}

template <class Codec>
Status create_ops(MPI_Op (&ops)[4]) {
  HVD_RETURN_IF_MPI_ERROR(MPI_Op_create(&reduce_half<Codec, SumOp>, 1, &ops[0]));
  HVD_RETURN_IF_MPI_ERROR(MPI_Op_create(&reduce_half<Codec, MinOp>, 1, &ops[1]));
  HVD_RETURN_IF_MPI_ERROR(MPI_Op_create(&reduce_half<Codec, MaxOp>, 1, &ops[2]));
  return HVD_MPI_STATUS(MPI_Op_create(&reduce_half<Codec, ProductOp>, 1, &ops[3]));
}

int op_index(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Average:
      return 0;
    case ReduceOp::Min:
      return 1;
    case ReduceOp::Max:
      return 2;
    case ReduceOp::Product:
      return 3;
  }
  return 0;
}

}  // namespace

StatusOr<std::unique_ptr<MpiReductionOps>> MpiReductionOps::create() {
  std::unique_ptr<MpiReductionOps> ops(new MpiReductionOps());
  for (MPI_Datatype& type : ops->half_types_) {
    HVD_RETURN_IF_MPI_ERROR(MPI_Type_contiguous(2, MPI_BYTE, &type));
    HVD_RETURN_IF_MPI_ERROR(MPI_Type_commit(&type));
  }
  HVD_RETURN_IF_ERROR(create_ops<Float16Codec>(ops->half_ops_[0]));
  HVD_RETURN_IF_ERROR(create_ops<BFloat16Codec>(ops->half_ops_[1]));
  return ops;
}

MpiReductionOps::~MpiReductionOps() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized)
    return;
  for (auto& kind : half_ops_) {
    for (MPI_Op& op : kind) {
      if (op != MPI_OP_NULL)
        MPI_Op_free(&op);
    }
  }
  for (MPI_Datatype& type : half_types_) {
    if (type != MPI_DATATYPE_NULL)
      MPI_Type_free(&type);
  }
}

MPI_Datatype MpiReductionOps::datatype(DataType dtype) const {
  switch (dtype) {
    case DataType::UInt8:
      return MPI_UINT8_T;
    case DataType::Int8:
      return MPI_INT8_T;
    case DataType::Int32:
      return MPI_INT32_T;
    case DataType::Int64:
      return MPI_INT64_T;
    case DataType::Float16:
      return half_types_[0];
    case DataType::BFloat16:
      return half_types_[1];
    case DataType::Float32:
      return MPI_FLOAT;
    case DataType::Float64:
      return MPI_DOUBLE;
    case DataType::Bool:
      return MPI_C_BOOL;
  }
  return MPI_DATATYPE_NULL;
}

StatusOr<MpiReduction> MpiReductionOps::lookup(DataType dtype, ReduceOp op) const {
  if (op == ReduceOp::Average) {
    return Status::error("internal: Average must be lowered to Sum before reaching MPI");
  }
  switch (dtype) {
    case DataType::Float16:
      return MpiReduction{half_types_[0], half_ops_[0][op_index(op)]};
    case DataType::BFloat16:
      return MpiReduction{half_types_[1], half_ops_[1][op_index(op)]};
    case DataType::Bool:
      return Status::error("reductions are not defined for bool tensors");
    default:
      break;
  }
  static const MPI_Op kBuiltin[kOps] = {MPI_SUM, MPI_MIN, MPI_MAX, MPI_PROD};
  return MpiReduction{datatype(dtype), kBuiltin[op_index(op)]};
}

}  // namespace hvd
