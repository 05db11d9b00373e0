#include "horovod_cpp/allgather_op.h"

#include "collectives/mpi_allgather.h"

namespace hvd {

Status run_allgather(const Response& response, const TensorTableEntry& entry,
                     const MpiContext& mpi) {
  const std::string context = "allgather '" + entry.name + "'";
  std::vector<std::int64_t> shape = entry.shape;
  shape[0] = 0;
  for (std::int64_t rows : response.dim0_by_rank)
    shape[0] += rows;
  std::int64_t row_elements = 1;
  for (size_t d = 1; d < shape.size(); ++d)
    row_elements *= shape[d];
  if (!entry.allocate_output)
    return Status::error(context + ": internal: no output allocator");
  StatusOr<void*> output = entry.allocate_output(shape);
  if (!output.is_ok())
    return output.status().with_context(context);
  return mpi_allgatherv(entry.input, output.value(), row_elements * element_size_bytes(entry.dtype),
                        response.dim0_by_rank, mpi.topology().rank, mpi.data_comm())
      .with_context(context);
}

}  // namespace hvd
