#include "horovod_cpp/device_alltoall_op.h"

#include <cstdint>

#include "horovod_cpp/alltoall_op.h"

namespace hvd {

Status enqueue_device_alltoall(const Response& response, const TensorTableEntry& entry,
                               const MpiContext& mpi, DevicePlane* plane) {
  const std::string what = "alltoall '" + entry.name + "'";
  HVD_RETURN_IF_ERROR(check_on_plane(*plane, entry.on_device, entry.device, what));
  if (entry.shape.empty() || response.element_counts.empty())
    return Status::error("internal: " + what + " has no dim 0");
  HVD_ASSIGN_OR_RETURN(const AlltoallRows rows, exchange_alltoall_rows(entry, mpi, what));
  if (!entry.allocate_output)
    return Status::error("internal: " + what + " has no output allocator");
  StatusOr<void*> output = entry.allocate_output(rows.output_shape);
  if (!output.is_ok())
    return output.status().with_context(what + ": the output");
  if (entry.set_received_splits)
    entry.set_received_splits(rows.received);
  const std::int64_t row_bytes = response.element_counts.front() * element_size_bytes(entry.dtype);
  std::vector<std::int64_t> send_bytes, recv_bytes;
  for (size_t r = 0; r < rows.sent.size(); ++r) {
    send_bytes.push_back(rows.sent[r] * row_bytes);
    recv_bytes.push_back(rows.received[r] * row_bytes);
  }
  if (entry.ready)
    HVD_RETURN_IF_ERROR(plane->wait_for(*entry.ready));
  return plane->alltoall(entry.input, send_bytes, output.value(), recv_bytes).with_context(what);
}

}  // namespace hvd
