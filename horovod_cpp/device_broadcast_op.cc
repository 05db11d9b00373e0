#include "horovod_cpp/device_broadcast_op.h"

namespace hvd {

Status enqueue_device_broadcast(const Response& response, const TensorTableEntry& entry, int rank,
                                DevicePlane* plane) {
  const std::string what = "broadcast '" + entry.name + "'";
  HVD_RETURN_IF_ERROR(check_on_plane(*plane, entry.on_device, entry.device, what));
  if (entry.ready)
    HVD_RETURN_IF_ERROR(plane->wait_for(*entry.ready));
  const std::int64_t count = entry.num_elements();
  // The root sends from the output buffer, so an out-of-place broadcast copies its input there.
  if (rank == response.root_rank && entry.input != entry.output)
    HVD_RETURN_IF_ERROR(plane->scaled_copy(entry.input, entry.output, count, entry.dtype, 1.0));
  return plane->broadcast(entry.output, count, entry.dtype, response.root_rank).with_context(what);
}

}  // namespace hvd
