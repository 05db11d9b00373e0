// Allreduce of one contiguous host buffer over MPI.
#pragma once

#include <cstdint>

#include <mpi.h>

#include "collectives/mpi_reduction_ops.h"

namespace hvd {

// Reduces `count` elements from `input` into `output` on every rank of `comm`; `input` may
// equal `output` (in place). `op` is Sum, Min, Max or Product. Large buffers go in calls of
// at most 16 MiB (see mpi_allreduce.cc), which also keeps counts within MPI's int.
Status mpi_allreduce(const void* input, void* output, std::int64_t count, DataType dtype,
                     ReduceOp op, MPI_Comm comm, const MpiReductionOps& ops);

}  // namespace hvd
