// MPI datatypes and reduce ops for every (DataType, ReduceOp) the runtime reduces. float16
// and bfloat16 have no MPI type: they travel as 2-byte contiguous types with user-defined
// ops that widen each pair of elements to float, combine, and round back (round to nearest
// even). So a sum over n ranks rounds n-1 times, like a ring of fp16 adds; see
// docs/API.md for the accuracy this gives.
#pragma once

#include <memory>

#include <mpi.h>

#include "horovod_cpp/data_type.h"
#include "horovod_cpp/horovod.h"
#include "horovod_cpp/status.h"

namespace hvd {

struct MpiReduction {
  MPI_Datatype datatype;
  MPI_Op op;
};

// Owns the custom types and ops; frees them on destruction (before MPI_Finalize, which the
// owner guarantees by destroying this first). Thread: background only after creation.
class MpiReductionOps {
 public:
  static StatusOr<std::unique_ptr<MpiReductionOps>> create();
  ~MpiReductionOps();
  MpiReductionOps(const MpiReductionOps&) = delete;
  MpiReductionOps& operator=(const MpiReductionOps&) = delete;

  // `op` is Sum, Min, Max or Product (Average is a Sum plus a division by the caller).
  StatusOr<MpiReduction> lookup(DataType dtype, ReduceOp op) const;
  // The MPI datatype that moves elements of `dtype` unreduced.
  MPI_Datatype datatype(DataType dtype) const;

 private:
  MpiReductionOps() = default;
  static constexpr int kHalfKinds = 2;  // float16, bfloat16
  static constexpr int kOps = 4;        // Sum, Min, Max, Product
  MPI_Datatype half_types_[kHalfKinds] = {MPI_DATATYPE_NULL, MPI_DATATYPE_NULL};
  MPI_Op half_ops_[kHalfKinds][kOps] = {{MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL},
                                        {MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL}};
};

}  // namespace hvd
