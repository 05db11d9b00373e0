#include "horovod_cpp/device_reducescatter_op.h"

#include "horovod_cpp/reducescatter_op.h"

namespace hvd {

Status enqueue_device_reducescatter(const Response& response, const TensorTableEntry& entry,
                                    int rank, int size, DevicePlane* plane) {
  const std::string what = "reducescatter '" + entry.name + "'";
  HVD_RETURN_IF_ERROR(check_on_plane(*plane, entry.on_device, entry.device, what));
  if (entry.shape.empty())
    return Status::error("internal: " + what + " has no dim 0");
  if (!entry.allocate_output)
    return Status::error("internal: " + what + " has no output allocator");
  const std::vector<std::int64_t> counts_by_rank = reducescatter_block_elements(entry.shape, size);
  std::vector<std::int64_t> shape = entry.shape;
  shape[0] = reducescatter_rows(entry.shape[0], rank, size);
  StatusOr<void*> output = entry.allocate_output(shape);
  if (!output.is_ok())
    return output.status().with_context(what + ": the output");
  if (entry.ready)
    HVD_RETURN_IF_ERROR(plane->wait_for(*entry.ready));
  return plane
      ->reducescatter(entry.input, output.value(), counts_by_rank, response.dtype,
                      response.reduce_op)
      .with_context(what);
}

}  // namespace hvd
