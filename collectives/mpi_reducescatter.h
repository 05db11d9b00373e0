// Reduce-scatter of a contiguous host buffer over MPI: the element-wise reduction of every
// rank's input, of which rank r keeps the r-th block (MPI_Reduce_scatter).
#pragma once

#include <cstdint>
#include <vector>

#include <mpi.h>

#include "collectives/mpi_reduction_ops.h"

namespace hvd {

// `input` holds sum(block_elements) elements on every rank; `output` receives the reduced
// block_elements[rank] elements that start after the blocks of lower ranks. `op` is Sum, Min,
// Max or Product. Block sizes must fit MPI's int.
Status mpi_reducescatter(const void* input, void* output,
                         const std::vector<std::int64_t>& block_elements, DataType dtype,
                         ReduceOp op, MPI_Comm comm, const MpiReductionOps& ops);

}  // namespace hvd
