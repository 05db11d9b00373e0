#include "collectives/mpi_reducescatter.h"

#include <climits>

#include "collectives/mpi_check.h"

namespace hvd {

Status mpi_reducescatter(const void* input, void* output,
                         const std::vector<std::int64_t>& block_elements, DataType dtype,
                         ReduceOp op, MPI_Comm comm, const MpiReductionOps& ops) {
  HVD_ASSIGN_OR_RETURN(const MpiReduction reduction, ops.lookup(dtype, op));
  std::vector<int> counts(block_elements.size());
  for (size_t r = 0; r < block_elements.size(); ++r) {
    if (block_elements[r] > INT_MAX) {
      return Status::error("a block of " + std::to_string(block_elements[r]) +
                           " elements exceeds MPI's int count");
    }
    counts[r] = static_cast<int>(block_elements[r]);
  }
  return HVD_MPI_STATUS(
      MPI_Reduce_scatter(input, output, counts.data(), reduction.datatype, reduction.op, comm));
}

}  // namespace hvd
