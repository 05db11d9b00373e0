#include "horovod_cpp/alltoall_op.h"

#include "collectives/mpi_alltoall.h"

namespace hvd {

Status run_alltoall(const Response& response, const TensorTableEntry& entry,
                    const MpiContext& mpi) {
  const std::string context = "alltoall '" + entry.name + "'";
  const int size = mpi.topology().size;
  std::vector<std::int64_t> send_rows = entry.splits;
  if (send_rows.empty())
    send_rows.assign(size, entry.shape[0] / size);  // the coordinator checked divisibility
  HVD_ASSIGN_OR_RETURN(std::vector<std::int64_t> recv_rows,
                       mpi_exchange_row_counts(send_rows, mpi.data_comm()));
  std::vector<std::int64_t> shape = entry.shape;
  shape[0] = 0;
  for (int r = 0; r < size; ++r) {
    if (recv_rows[r] < 0 || recv_rows[r] > INT64_MAX - shape[0])
      return Status::error(context + ": received row counts overflow int64");
    shape[0] += recv_rows[r];
  }
  if (!entry.allocate_output)
    return Status::error(context + ": internal: no output allocator");
  StatusOr<void*> output = entry.allocate_output(shape);
  if (!output.is_ok())
    return output.status().with_context(context);
  if (entry.set_received_splits)
    entry.set_received_splits(recv_rows);
  const std::int64_t row_bytes = response.element_counts.front() * element_size_bytes(entry.dtype);
  return mpi_alltoallv(entry.input, send_rows, output.value(), recv_rows, row_bytes,
                       mpi.data_comm())
      .with_context(context);
}

}  // namespace hvd
