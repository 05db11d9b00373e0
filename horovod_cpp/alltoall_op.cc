#include "horovod_cpp/alltoall_op.h"

#include "collectives/mpi_alltoall.h"

namespace hvd {

StatusOr<AlltoallRows> exchange_alltoall_rows(const TensorTableEntry& entry, const MpiContext& mpi,
                                              const std::string& what) {
  const int size = mpi.topology().size;
  AlltoallRows rows;
  rows.sent = entry.splits;
  if (rows.sent.empty())
    rows.sent.assign(size, entry.shape[0] / size);  // the coordinator checked divisibility
  HVD_ASSIGN_OR_RETURN(rows.received, mpi_exchange_row_counts(rows.sent, mpi.data_comm()));
  rows.output_shape = entry.shape;
  rows.output_shape[0] = 0;
  for (std::int64_t received : rows.received) {
    if (received < 0 || received > INT64_MAX - rows.output_shape[0])
      return Status::error(what + ": received row counts overflow int64");
    rows.output_shape[0] += received;
  }
  return rows;
}

Status run_alltoall(const Response& response, const TensorTableEntry& entry,
                    const MpiContext& mpi) {
  const std::string context = "alltoall '" + entry.name + "'";
  HVD_ASSIGN_OR_RETURN(const AlltoallRows rows, exchange_alltoall_rows(entry, mpi, context));
  if (!entry.allocate_output)
    return Status::error(context + ": internal: no output allocator");
  StatusOr<void*> output = entry.allocate_output(rows.output_shape);
  if (!output.is_ok())
    return output.status().with_context(context);
  if (entry.set_received_splits)
    entry.set_received_splits(rows.received);
  const std::int64_t row_bytes = response.element_counts.front() * element_size_bytes(entry.dtype);
  return mpi_alltoallv(entry.input, rows.sent, output.value(), rows.received, row_bytes,
                       mpi.data_comm())
      .with_context(context);
}

}  // namespace hvd
