#include "horovod_cpp/device_alltoall_op.h"

#include <cstdint>

#include "collectives/mpi_alltoall.h"

namespace hvd {

Status enqueue_device_alltoall(const Response& response, const TensorTableEntry& entry,
                               const MpiContext& mpi, DevicePlane* plane) {
  const std::string what = "alltoall '" + entry.name + "'";
  HVD_RETURN_IF_ERROR(check_on_plane(*plane, entry.on_device, entry.device, what));
  if (entry.shape.empty() || response.element_counts.empty())
    return Status::error("internal: " + what + " has no dim 0");
  if (!entry.allocate_output)
    return Status::error("internal: " + what + " has no output allocator");
  const int size = mpi.topology().size;
  std::vector<std::int64_t> send_rows = entry.splits;
  if (send_rows.empty())
    send_rows.assign(size, entry.shape[0] / size);  // the coordinator checked divisibility
  HVD_ASSIGN_OR_RETURN(std::vector<std::int64_t> recv_rows,
                       mpi_exchange_row_counts(send_rows, mpi.data_comm()));
  std::vector<std::int64_t> shape = entry.shape;
  shape[0] = 0;
  for (std::int64_t rows : recv_rows) {
    if (rows < 0 || rows > INT64_MAX - shape[0])
      return Status::error(what + ": received row counts overflow int64");
    shape[0] += rows;
  }
  StatusOr<void*> output = entry.allocate_output(shape);
  if (!output.is_ok())
    return output.status().with_context(what + ": the output");
  if (entry.set_received_splits)
    entry.set_received_splits(recv_rows);
  const std::int64_t row_bytes = response.element_counts.front() * element_size_bytes(entry.dtype);
  std::vector<std::int64_t> send_bytes, recv_bytes;
  for (int r = 0; r < size; ++r) {
    send_bytes.push_back(send_rows[static_cast<size_t>(r)] * row_bytes);
    recv_bytes.push_back(recv_rows[static_cast<size_t>(r)] * row_bytes);
  }
  if (entry.ready)
    HVD_RETURN_IF_ERROR(plane->wait_for(*entry.ready));
  return plane->alltoall(entry.input, send_bytes, output.value(), recv_bytes).with_context(what);
}

}  // namespace hvd
