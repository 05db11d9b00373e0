#include "collectives/mpi_allreduce.h"

#include <algorithm>
#include <climits>

#include "collectives/mpi_check.h"

namespace hvd {

Status mpi_allreduce(const void* input, void* output, std::int64_t count, DataType dtype,
                     ReduceOp op, MPI_Comm comm, const MpiReductionOps& ops) {
  HVD_ASSIGN_OR_RETURN(const MpiReduction reduction, ops.lookup(dtype, op));
  const std::int64_t element_bytes = element_size_bytes(dtype);
  for (std::int64_t done = 0; done < count;) {
    const std::int64_t chunk = std::min<std::int64_t>(count - done, INT_MAX);
    char* out = static_cast<char*>(output) + done * element_bytes;
    const void* in =
        input == output ? MPI_IN_PLACE : static_cast<const char*>(input) + done * element_bytes;
    HVD_RETURN_IF_MPI_ERROR(
        MPI_Allreduce(in, out, static_cast<int>(chunk), reduction.datatype, reduction.op, comm));
    done += chunk;
  }
  return Status::ok();
}

}  // namespace hvd
